"""Pausing Python's cyclic garbage collector around bulk work.

A load of a million items allocates millions of small tuples, each tracked by the collector, which then
walks every live object again and again: measured, a second of a refresh's five went to collections that
found nothing (reference counting frees these objects; none of them form cycles). So bulk passes pause
it. The pause is counted, so that overlapping passes (two jobs in one process) end it only when the last
one ends, and it never turns the collector on if it was off already.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()
