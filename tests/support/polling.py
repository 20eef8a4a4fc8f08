"""Waiting for something that happens on another thread or process, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    produce: Callable[[], T], done: Callable[[T], bool], *, timeout: float = 20.0, what: str = ""
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = produce()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or 'a condition'}; last: {value!r}"
            )
        time.sleep(0.05)
