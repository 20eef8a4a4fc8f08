"""The job table and its state machine, enqueue-after-commit, progress and heartbeat, the runner protocol.

Stages register their job functions here (`@job_function("kind")`); they never import a runner.
"""
