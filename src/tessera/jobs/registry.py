"""Job functions by kind. A stage registers its functions in its jobs.py with `@job_function("kind")`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tessera.core.errors import Invalid

if TYPE_CHECKING:
    from tessera.jobs.context import JobContext

JobFunction = Callable[["JobContext"], dict[str, Any] | None]

_functions: dict[str, JobFunction] = {}
_own_process: set[str] = set()


def job_function(kind: str, *, own_process: bool = False) -> Callable[[JobFunction], JobFunction]:
    """Register `kind`'s function. `own_process`: the job keeps a core busy for long (featurization,
    training), and the in-process runner runs it in a child process so that it never holds the
    server's interpreter lock while labelers wait (settings.job_child_process)."""

    def register(function: JobFunction) -> JobFunction:
        existing = _functions.get(kind)
        if existing is not None and existing is not function:
            raise RuntimeError(f"job kind {kind!r} is registered twice")
        _functions[kind] = function
        if own_process:
            _own_process.add(kind)
        return function

    return register


def runs_in_own_process(kind: str) -> bool:
    return kind in _own_process


def get_job_function(kind: str) -> JobFunction:
    try:
        return _functions[kind]
    except KeyError:
        raise Invalid(f"unknown job kind {kind!r}", field="kind") from None


def registered_kinds() -> list[str]:
    return sorted(_functions)
