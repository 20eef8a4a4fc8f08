"""Import every stage's tables and job functions, so that an entry point's process knows all of them."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

# Each stage's models and jobs modules, in the order of design.md. A stage adds its modules here.
STAGE_MODULES: tuple[str, ...] = (
    "tessera.jobs.models",
    "tessera.jobs.system_check",
    "tessera.accounts.models",
    "tessera.projects.models",
    "tessera.ingest.models",
    "tessera.items.models",
    "tessera.ingest.jobs",
    "tessera.queue.models",
    "tessera.labels.models",
    "tessera.review.models",
    "tessera.formats.models",
    "tessera.formats.jobs",
    "tessera.ml.models",
    "tessera.ml.jobs",
)


def load_stages(extra_modules: Iterable[str] = ()) -> None:
    """Import the stages' modules and `extra_modules` (settings.job_modules: plugins' job functions)."""
    for name in (*STAGE_MODULES, *extra_modules):
        importlib.import_module(name)
