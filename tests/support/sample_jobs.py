"""Job functions for tests, registered the way a plugin's would be (TESSERA_JOB_MODULES)."""

from __future__ import annotations

import time
from typing import Any

from tessera.jobs.context import JobContext
from tessera.jobs.registry import job_function


@job_function("test.fail")
def fail(context: JobContext) -> None:
    raise ValueError(f"boom in job {context.job_id}")


@job_function("test.noop")
def noop(context: JobContext) -> dict[str, Any]:
    return {"ok": True}


@job_function("test.wait")
def wait(context: JobContext) -> dict[str, Any]:
    """Counts `steps` steps of `step_seconds`, reporting progress (and so noticing a cancel) at each."""
    steps = int(context.params.get("steps", 100))
    for step in range(1, steps + 1):
        time.sleep(float(context.params.get("step_seconds", 0.05)))
        context.progress(step, steps)
    return {"steps": steps, "worker": context.worker, "attempt": context.attempt}


@job_function("test.priority")
def priority(context: JobContext) -> dict[str, Any]:
    """The nice values of the job's thread and of a thread it starts (Linux: per thread)."""
    import os
    import threading

    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    seen: list[int] = []
    child = threading.Thread(target=lambda: seen.append(nice()))
    child.start()
    child.join()
    return {"job": nice(), "child": seen[0]}


@job_function("test.own_process", own_process=True)
def own_process(context: JobContext) -> dict[str, Any]:
    """Where it runs; `exit_code` ends its process at once, as a crash would; `steps` waits like test.wait."""
    import os
    import threading

    if "exit_code" in context.params:
        os._exit(int(context.params["exit_code"]))
    steps = int(context.params.get("steps", 0))
    for step in range(1, steps + 1):
        time.sleep(0.05)
        context.progress(step, steps)
    return {
        "pid": os.getpid(),
        "nice": os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
        "worker": context.worker,
    }
