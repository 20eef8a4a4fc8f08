"""The API process at start-up: what is alive then is frozen out of the garbage collector's sight, and full
collections (each walks every unfrozen long-lived object) come ten times less often than by default."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from tessera.api.app import FULL_COLLECTION_EVERY, create_app
from tessera.core.settings import Settings
from tessera.worker.runtime import Runtime


def test_start_up_freezes_what_lives_and_spaces_out_full_collections(
    runtime: Runtime, settings: Settings
) -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with TestClient(create_app(settings, runtime=runtime)) as client:
            assert client.get("/api/health").status_code == 200
            assert gc.get_threshold() == (700, 10, FULL_COLLECTION_EVERY)
            assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
