"""Many labelers at once: the next-task and submit requests run at most `labeling_threads` at a time in a
server process (the rest wait on the event loop), and each labeler still gets a page of its own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tessera.api.app import create_app
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.worker.runtime import Runtime
from tests.support.labeling import assert_counters_match_a_recount, claim, classes, make_team, ok, submit


def test_eight_labelers_at_once_on_two_threads_get_distinct_pages(
    runtime: Runtime, settings: Settings, db: Database
) -> None:
    team = make_team(db, items=40, labelers=8)
    app = create_app(settings.model_copy(update={"labeling_threads": 2}), runtime=runtime)
    with TestClient(app) as client, ThreadPoolExecutor(8) as pool:

        def label_a_page(headers: dict[str, str]) -> list[int]:
            task = claim(client, team, headers)
            assert task is not None
            ids = [item["id"] for item in task["items"]]
            ok(submit(client, task, headers, dict.fromkeys(ids, classes("cat"))))
            return ids

        pages = list(pool.map(label_a_page, team.labelers))
        assert app.state.labeling_limiter.total_tokens == 2
    labeled = [item_id for page in pages for item_id in page]
    assert len(labeled) == 32 and len(set(labeled)) == 32
    assert_counters_match_a_recount(db, team.project_id)
