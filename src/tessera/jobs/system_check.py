"""The `system.check` job: proves that a runner picks jobs up and reports progress (`tessera job check`)."""

from __future__ import annotations

import socket
import time
from typing import Any

from tessera.jobs.context import JobContext
from tessera.jobs.registry import job_function

SYSTEM_CHECK = "system.check"
MAX_STEPS = 10_000


@job_function(SYSTEM_CHECK)
def run_system_check(context: JobContext) -> dict[str, Any]:
    steps = min(int(context.params.get("steps", 10)), MAX_STEPS)
    pause = float(context.params.get("step_seconds", 0.05))
    for step in range(1, steps + 1):
        time.sleep(pause)
        context.progress(step, steps, message=f"step {step} of {steps}")
    return {"steps": steps, "worker": context.worker, "host": socket.gethostname()}
