"""Runners (in-process thread pool, RQ on Redis) and the scheduler. Entry points build and attach them."""
