"""The `queue` benchmark: simulated labelers claim and submit over HTTP against a real `tessera serve`.

A multiclass image classification project of N items (default 1,000,000) is made directly with SQL in
bulk (its `items`, its `item_order` rows and its `unlabeled` counter: what the ingest job leaves behind,
without the files, which classification labels never read). Then 8, and then 32, labelers (threads, one
keep-alive httpx client each) loop for TESSERA_BENCH_SECONDS (default 60) each: POST tasks/next, then POST
submit with a valid label for every item of the page. Figures: next-task and submit latency p50/p99
client side and server side (a `Server-Timing` header, which the benchmark adds around the app unless
the server sends its own), claim+submit cycles/s of the one server process and its CPU per cycle, the
dashboard's latency during and after the runs, and double assignments (items handed to two labelers,
seen by the clients, and items with more active labels or tasks than they need, counted in the
database afterwards). Reference, same run: the claim's SQL alone in-process (the candidate SELECT, and
SELECT + UPDATE rolled back), the whole claim_task + submit_labels in-process without HTTP, the
/api/health latency (the floor of the HTTP path), and the ceiling of a cycle: the biggest crew making
cycles of two /api/health requests for up to 10 s (`empty_cycles_per_s`, `empty_cycle_server_cpu_ms`):
no claim+submit cycle over this HTTP stack on this machine can beat it.

Then, paced: TESSERA_BENCH_PACED labelers (default 32) each look at a page for 0.5–1.5 × TESSERA_BENCH_THINK_S
(default 2 s) before submitting it, for the latency a team feels when the process is not saturated; with
no think time every latency is queueing (Little's law: labelers / cycles per second).

Environment: TESSERA_BENCH_SECONDS (per labeler count), TESSERA_BENCH_LABELERS ("8,32"),
TESSERA_BENCH_PACED ("32"; "" for none), TESSERA_BENCH_THINK_S (2),
TESSERA_BENCH_PAGE_SIZE (1, 4, 6 or 9; default 4, the default for image classification),
TESSERA_BENCH_SERVER_TIMING=0 (leave the server unwrapped), TESSERA_BENCH_PROFILE=FILE (cProfile the
in-process cycles into FILE), TESSERA_BENCH_CHAINED=1 (each submit also claims the next task, "next":
true: a cycle is then one request after the first claim).
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import text

from bench.bare_http import bare_server
from bench.queue_checks import CLASSES, counters_match, database_doubles, ms, reference_figures
from bench.support import fresh_database, migrated, server, timed_calls
from tessera.accounts.memberships import set_member
from tessera.accounts.models import ProjectRole, WorkspaceRole
from tessera.accounts.service import create_api_token, create_user
from tessera.core import clock
from tessera.db.session import Database
from tessera.items.counts import add_counts
from tessera.items.models import ItemState
from tessera.projects.models import TaskType
from tessera.projects.service import create_project
from tessera.queue.settings import SettingsChange, update_labeling_settings

DASHBOARD_EVERY_S = 2.0
SUBMIT_ATTEMPTS = 3
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
# Ranks: (i * 1103515245 + 12345) mod 2**31, a full-period permutation of 0..2**31-1 (odd increment,
# multiplier 1 mod 4), so distinct and scattered like the ingest's random ones.
SQLITE_ITEMS = (
    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1) "
    "INSERT INTO items (project_id, path, row_index, rank, state, health, created_at) "
    "SELECT :project, printf('d%05d/img%08d.jpg', i / 1000, i), 0, (i * 1103515245 + 12345) % 2147483648, "
    "'unlabeled', 'ok', :created FROM n"
)
POSTGRESQL_ITEMS = (
    "INSERT INTO items (project_id, path, row_index, rank, state, health, created_at) "
    "SELECT :project, format('d%s/img%s.jpg', lpad((i / 1000)::text, 5, '0'), lpad(i::text, 8, '0')), 0, "
    "((i::bigint * 1103515245 + 12345) % 2147483648)::integer, 'unlabeled', 'ok', now() "
    "FROM generate_series(0, :count - 1) AS i"
)
ORDER_ROWS = (
    "INSERT INTO item_order (project_id, rank, item_id) "
    "SELECT project_id, rank, id FROM items WHERE project_id = :project ORDER BY rank, id"
)
# Wraps the app that `tessera serve` hands to uvicorn: one `Server-Timing: bench;dur=…` per response,
# from the moment the ASGI app gets the request to its response's start (thread-pool wait, database
# locks and serialization included; HTTP parsing and the socket not).
SERVER_TIMING_HOOK = """
import time

import uvicorn

_run = uvicorn.run


class _Timed:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()

        async def timed(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                if b"server-timing" not in names:
                    took = (time.perf_counter() - started) * 1000
                    headers = [*message.get("headers", []), (b"server-timing", b"bench;dur=%.3f" % took)]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed)


def run(app, *args, **kwargs):
    return _run(_Timed(app), *args, **kwargs)


uvicorn.run = run
"""


@dataclass
class Setup:
    project_id: int
    admin_token: str
    labeler_tokens: list[str]
    reference_user_id: int
    seconds: float


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def _insert_items(database: Database, project_id: int, count: int) -> None:
    """`count` unlabeled items in scattered ranks, their order rows and their counter, in one transaction."""
    sqlite = database.engine.dialect.name == "sqlite"
    with database.bulk_write() as session:  # the project was just made: no foreign key checks per row
        if sqlite:
            created = clock.now().replace(tzinfo=None).strftime(SQLITE_DATETIME)
            session.execute(text(SQLITE_ITEMS), {"count": count, "project": project_id, "created": created})
        else:
            session.execute(text(POSTGRESQL_ITEMS), {"count": count, "project": project_id})
        session.execute(text(ORDER_ROWS), {"project": project_id})
        add_counts(session, project_id, {ItemState.unlabeled.value: count})
    if not sqlite:  # autovacuum would, within a minute or so; done now so that every run plans alike
        with database.engine.connect() as connection:
            connection.execute(text("ANALYZE items"))
            connection.execute(text("ANALYZE item_order"))
            connection.commit()


def _populate(url: str, count: int, labelers: int, page_size: int) -> Setup:
    started = time.perf_counter()
    database = migrated(url)
    with database.write() as session:
        admin = create_user(
            session, username="bench", password="bench-password", workspace_role=WorkspaceRole.admin
        )
        project = create_project(
            session,
            creator=admin,
            name="Queue bench",
            task_type=TaskType.image_classification_multiclass,
            label_classes=list(CLASSES),
        )
        update_labeling_settings(session, project, SettingsChange(page_size=page_size))
        tokens = []
        for index in range(labelers + 1):
            user = create_user(
                session,
                username=f"labeler{index:03d}",
                password="bench-password",
                workspace_role=WorkspaceRole.member,
            )
            set_member(session, project_id=project.id, user=user, role=ProjectRole.labeler)
            tokens.append(create_api_token(session, user=user, name="bench")[1])
        reference_user_id = user.id  # the last one: for the in-process reference only
        _, admin_token = create_api_token(session, user=admin, name="bench")
        project_id = project.id
    _insert_items(database, project_id, count)
    database.dispose()
    return Setup(project_id, admin_token, tokens[:-1], reference_user_id, time.perf_counter() - started)


def _serverms(response: httpx.Response) -> float | None:
    """The `dur` of the Server-Timing header (ours, `bench;dur=`, or the first the server sends)."""
    header = response.headers.get("server-timing")
    if not header:
        return None
    durations = []
    for metric in header.split(","):
        name, *parameters = (part.strip() for part in metric.split(";"))
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip() == "dur":
                durations.append((name != "bench", float(value)))
    return min(durations)[1] if durations else None


@dataclass
class Tracker:
    """Which labeler holds which item now, and which task each item was ever handed out in: an item
    in two labelers' open tasks at once, or in two different tasks at all (leases never run out here,
    one label is needed and every task is submitted), is a double assignment."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    holder: dict[int, int] = field(default_factory=dict)  # item id → labeler index, while its task is open
    task_of: dict[int, int] = field(default_factory=dict)  # item id → the task it was handed out in
    overlapping: set[int] = field(default_factory=set)
    reassigned: set[int] = field(default_factory=set)

    def handed(self, labeler: int, task_id: int, item_ids: list[int]) -> None:
        with self.lock:
            for item_id in item_ids:
                other = self.holder.get(item_id)
                if other is not None and other != labeler:
                    self.overlapping.add(item_id)
                self.holder[item_id] = labeler
                if self.task_of.setdefault(item_id, task_id) != task_id:
                    self.reassigned.add(item_id)

    def submitted(self, item_ids: list[int]) -> None:
        with self.lock:
            for item_id in item_ids:
                self.holder.pop(item_id, None)


@dataclass
class Samples:
    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    next_server_ms: list[float] = field(default_factory=list)
    submit_server_ms: list[float] = field(default_factory=list)
    cycles: int = 0
    items: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # status → the first answer with it
    exhausted: bool = False

    def merge(self, other: Samples) -> None:
        self.next_ms += other.next_ms
        self.submit_ms += other.submit_ms
        self.next_server_ms += other.next_server_ms
        self.submit_server_ms += other.submit_server_ms
        self.cycles += other.cycles
        self.items += other.items
        self.statuses.update(other.statuses)
        self.failures = {**other.failures, **self.failures}
        self.exhausted = self.exhausted or other.exhausted


def _call(
    client: httpx.Client, name: str, path: str, body: dict[str, Any], samples: Samples
) -> httpx.Response | None:
    """POST, timed; its status counted (and the first answer of each failing status kept)."""
    started = time.perf_counter()
    try:
        response = client.post(path, json=body)
    except httpx.TransportError as error:
        samples.statuses[f"{name} {type(error).__name__}"] += 1
        return None
    took = (time.perf_counter() - started) * 1000
    server_ms = _serverms(response)
    if name == "next":
        samples.next_ms.append(took)
        if server_ms is not None:
            samples.next_server_ms.append(server_ms)
    else:
        samples.submit_ms.append(took)
        if server_ms is not None:
            samples.submit_server_ms.append(server_ms)
    status = f"{name} {response.status_code}"
    samples.statuses[status] += 1
    if response.status_code >= 300:
        samples.failures.setdefault(status, response.text[:300])
    return response


def _labeler(
    base: str,
    project_id: int,
    token: str,
    index: int,
    start: threading.Barrier,
    seconds: float,
    tracker: Tracker,
    samples: Samples,
    chained: bool,
    think_s: float = 0.0,
) -> None:
    """Claim, submit, again. `chained`: each submit asks for the next task too ("next": true), so after
    the first claim a cycle is one request. `think_s`: the labeler looks at each page for between half
    and one and a half times this before submitting it (0: at once), and starts within that time."""
    headers = {"Authorization": f"Bearer {token}"}
    pace = random.Random(index)
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        client.get("/api/health")  # the connection is open before the clock starts
        start.wait()
        deadline = time.perf_counter() + seconds
        time.sleep(pace.uniform(0, think_s))  # paced labelers do not all start at the same instant
        task: dict[str, Any] | None = None
        while time.perf_counter() < deadline:  # a cycle once begun is finished: no task is left open
            if task is None:
                response = _call(
                    client, "next", f"/api/projects/{project_id}/tasks/next", {"kind": None}, samples
                )
                if response is not None and response.status_code == 204:
                    samples.exhausted = True
                    break
                if response is None or response.status_code != 200:
                    continue  # a failed claim: claim again (an open task comes back as it was)
                task = response.json()
            assert task is not None
            time.sleep(pace.uniform(0.5, 1.5) * think_s)
            task = _submit_page(client, index, task, tracker, samples, chained)
            if chained and task is None and samples.exhausted:
                break


def _submit_page(
    client: httpx.Client, index: int, task: dict[str, Any], tracker: Tracker, samples: Samples, chained: bool
) -> dict[str, Any] | None:
    """Label every waiting item of the task; the next task when `chained` (None: claim again)."""
    item_ids = [item["id"] for item in task["items"] if item["outcome"] == "pending"]
    tracker.handed(index, task["id"], [item["id"] for item in task["items"]])
    labels = [
        {"item_id": item_id, "label": {"classes": [CLASSES[item_id % len(CLASSES)]]}, "seconds": 2.5}
        for item_id in item_ids
    ]
    body = {"labels": labels, "idempotency_key": f"task-{task['id']}", "next": chained}
    for _ in range(SUBMIT_ATTEMPTS):  # a retry with the same key is safe
        response = _call(client, "submit", f"/api/tasks/{task['id']}/submit", body, samples)
        if response is not None and response.status_code < 500:
            break
    if response is None or response.status_code != 200:
        return None
    tracker.submitted(item_ids)
    samples.cycles += 1
    samples.items += len(item_ids)
    following: dict[str, Any] | None = response.json().get("next_task") if chained else None
    if chained and following is None:
        samples.exhausted = True
    return following


def _dashboard_sampler(
    base: str, project_id: int, token: str, stop: threading.Event, samples: list[float]
) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while not stop.wait(DASHBOARD_EVERY_S):
            started = time.perf_counter()
            try:
                response = client.get(f"/api/projects/{project_id}/dashboard")
            except httpx.TransportError:
                continue
            if response.status_code == 200:
                samples.append((time.perf_counter() - started) * 1000)


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _health_cycle(client: httpx.Client) -> None:
    client.get("/api/health")
    client.get("/api/health")


_BARE_SUBMIT = {
    "labels": [{"item_id": index, "label": {"classes": [CLASSES[0]]}, "seconds": 2.5} for index in range(4)],
    "idempotency_key": "bare",
}


def _bare_cycle(client: httpx.Client) -> None:
    client.post("/bare/next", json={})
    client.post("/bare/submit", json=_BARE_SUBMIT)


def _empty_cycles(
    base: str,
    labelers: int,
    seconds: float,
    server_process: psutil.Process,
    cycle: Callable[[httpx.Client], None],
    name: str,
) -> dict[str, Any]:
    """A ceiling: `labelers` threads each make `cycle`s (two requests that claim and submit nothing) for
    `seconds`, as the crews' clients do (same threads, keep-alive clients, the same two cores shared by
    client and server). Figures `{name}_cycles_per_s` and `{name}_cycle_server_cpu_ms`."""
    counts = [0] * labelers
    start = threading.Barrier(labelers + 1)

    def loop(index: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            cycle(client)
            start.wait()
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                cycle(client)
                counts[index] += 1

    threads = [threading.Thread(target=loop, args=(index,), daemon=True) for index in range(labelers)]
    for thread in threads:
        thread.start()
    start.wait()
    started, server_cpu = time.perf_counter(), _cpu_s(server_process)
    for thread in threads:
        thread.join()
    elapsed, server_cpu = time.perf_counter() - started, _cpu_s(server_process) - server_cpu
    cycles = max(sum(counts), 1)
    return {
        f"{name}_cycle_labelers": labelers,
        f"{name}_cycles_per_s": round(sum(counts) / elapsed, 1),
        f"{name}_cycle_server_cpu_ms": round(server_cpu * 1000 / cycles, 2),
    }


def _drive(
    base: str,
    setup: Setup,
    labelers: int,
    seconds: float,
    tracker: Tracker,
    server_process: psutil.Process,
    chained: bool,
    think_s: float = 0.0,
) -> tuple[dict[str, Any], list[float]]:
    """`labelers` threads for `seconds` (each looking at a page for about `think_s` before submitting
    it); the run's figures and its dashboard samples."""
    per_labeler = [Samples() for _ in range(labelers)]
    start = threading.Barrier(labelers + 1)
    threads = [
        threading.Thread(
            target=_labeler,
            args=(
                base,
                setup.project_id,
                token,
                index,
                start,
                seconds,
                tracker,
                per_labeler[index],
                chained,
                think_s,
            ),
            daemon=True,
        )
        for index, token in enumerate(setup.labeler_tokens[:labelers])
    ]
    for thread in threads:
        thread.start()
    dashboard: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(
        target=_dashboard_sampler,
        args=(base, setup.project_id, setup.admin_token, stop, dashboard),
        daemon=True,
    )
    me = psutil.Process()
    start.wait()
    started, server_cpu, client_cpu = time.perf_counter(), _cpu_s(server_process), _cpu_s(me)
    sampler.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    server_cpu, client_cpu = _cpu_s(server_process) - server_cpu, _cpu_s(me) - client_cpu
    stop.set()
    sampler.join()
    total = Samples()
    for samples in per_labeler:
        total.merge(samples)
    cycles = max(total.cycles, 1)
    return {
        "labelers": labelers,
        "think_s": think_s,
        "seconds": round(elapsed, 1),
        "cycles": total.cycles,
        "items_labeled": total.items,
        "cycles_per_s": round(total.cycles / elapsed, 1),
        "items_per_s": round(total.items / elapsed, 1),
        "next_p50_ms": ms(total.next_ms, 0.5),
        "next_p99_ms": ms(total.next_ms, 0.99),
        "submit_p50_ms": ms(total.submit_ms, 0.5),
        "submit_p99_ms": ms(total.submit_ms, 0.99),
        "next_server_p50_ms": ms(total.next_server_ms, 0.5),
        "next_server_p99_ms": ms(total.next_server_ms, 0.99),
        "submit_server_p50_ms": ms(total.submit_server_ms, 0.5),
        "submit_server_p99_ms": ms(total.submit_server_ms, 0.99),
        "next_max_ms": ms(total.next_ms, 1.0),
        "submit_max_ms": ms(total.submit_ms, 1.0),
        "server_cpu_ms_per_cycle": round(server_cpu * 1000 / cycles, 2),
        "server_cpu_share": round(server_cpu / elapsed, 2),  # of one core
        "client_cpu_share": round(client_cpu / elapsed, 2),
        "dashboard_p50_ms": ms(dashboard, 0.5),
        "statuses": dict(sorted(total.statuses.items())),
        "failures": total.failures,
        "queue_exhausted": total.exhausted,
    }, dashboard


@contextmanager
def _server_timing(scratch: Path, enabled: bool) -> Iterator[None]:
    """The server started inside this block gets the Server-Timing wrapper (a sitecustomize on its
    PYTHONPATH that wraps the app `tessera serve` hands to uvicorn)."""
    if not enabled:
        yield
        return
    hook = scratch / "server-timing"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SERVER_TIMING_HOOK)
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook), before]))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def run(*, items: int | None, database: str | None) -> dict[str, Any]:
    count = items or 1_000_000
    seconds = _env_float("TESSERA_BENCH_SECONDS", 60.0)
    crews = [int(part) for part in os.environ.get("TESSERA_BENCH_LABELERS", "8,32").split(",") if part]
    paced = [int(part) for part in os.environ.get("TESSERA_BENCH_PACED", "32").split(",") if part]
    think_s = _env_float("TESSERA_BENCH_THINK_S", 2.0)
    page_size = int(_env_float("TESSERA_BENCH_PAGE_SIZE", 4))
    timing = os.environ.get("TESSERA_BENCH_SERVER_TIMING", "1") != "0"
    chained = os.environ.get("TESSERA_BENCH_CHAINED", "0") == "1"
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as scratch:
        url = fresh_database(database, Path(scratch))
        setup = _populate(url, count, max(crews + paced), page_size)
        tracker, runs, dashboard = Tracker(), [], []
        admin = {"Authorization": f"Bearer {setup.admin_token}"}
        with (
            _server_timing(Path(scratch), timing),
            server(url, Path(scratch) / "data") as (base, process),
            httpx.Client(base_url=base, headers=admin, timeout=60) as client,
        ):
            timed_calls(client, "/api/health", 50)
            warm_up = min(seconds, 3.0)  # not reported
            _drive(base, setup, max(crews), warm_up, tracker, process, chained)
            for crew in crews:
                figures, during = _drive(base, setup, crew, seconds, tracker, process, chained)
                runs.append(figures)
                dashboard += during
            paced_runs = [
                _drive(base, setup, crew, seconds, tracker, process, chained, think_s)[0] for crew in paced
            ]
            after = timed_calls(client, f"/api/projects/{setup.project_id}/dashboard", 20)
            empty = _empty_cycles(base, max(crews), min(seconds, 10.0), process, _health_cycle, "empty")
            health_cpu = _cpu_s(process)
            health = timed_calls(client, "/api/health", 500)
            health_cpu = (_cpu_s(process) - health_cpu) * 1000 / len(health)
            rss_mb = process.memory_info().rss / 2**20
        with bare_server() as (bare_base, bare_process):  # alone: Tessera's server has stopped
            bare = _empty_cycles(
                bare_base, max(crews), min(seconds, 10.0), bare_process, _bare_cycle, "bare_http"
            )
        doubles = database_doubles(url, setup.project_id)
        counters_ok = counters_match(url, setup.project_id)
        reference = reference_figures(url, setup.project_id, setup.reference_user_id, page_size)
    flagged = tracker.overlapping | tracker.reassigned | {item for ids in doubles.values() for item in ids}
    main = runs[-1]  # the most labelers: the figures the goals are checked against
    return {
        "bench": "queue",
        "params": {
            "items": count,
            "database": url.split(":", 1)[0],
            "task_type": TaskType.image_classification_multiclass.value,
            "page_size": page_size,
            "min_labelers": 1,
            "labelers": crews,
            "paced_labelers": paced,
            "think_s": think_s,
            "seconds_each": seconds,
            "figures_from_labelers": main["labelers"],
            "server_processes": 1,
            "submit_with_next": chained,
            "server_timing": "bench wrapper around the ASGI app" if timing else "none",
            "client": "one thread and keep-alive httpx.Client per labeler, in the benchmark's process",
            "cpus": os.cpu_count(),
            "load_average_before": [round(value, 2) for value in load],
            "setup_s": round(setup.seconds, 1),
        },
        "figures": {
            "next_p50_ms": main["next_p50_ms"],
            "next_p99_ms": main["next_p99_ms"],
            "submit_p50_ms": main["submit_p50_ms"],
            "submit_p99_ms": main["submit_p99_ms"],
            "next_server_p50_ms": main["next_server_p50_ms"],
            "next_server_p99_ms": main["next_server_p99_ms"],
            "submit_server_p50_ms": main["submit_server_p50_ms"],
            "submit_server_p99_ms": main["submit_server_p99_ms"],
            "cycles_per_s": main["cycles_per_s"],
            "server_cpu_ms_per_cycle": main["server_cpu_ms_per_cycle"],
            "double_assignments": len(flagged),
            "dashboard_ms": ms(dashboard + after, 0.5),
            "dashboard_during_runs_p50_ms": ms(dashboard, 0.5),
            "dashboard_during_runs_max_ms": ms(dashboard, 1.0),
            "dashboard_after_p50_ms": ms(after, 0.5),
            "counters_match_rows": counters_ok,
            "server_rss_mb": round(rss_mb, 1),
            "double_assignment_checks": {
                "open_at_once_client_side": len(tracker.overlapping),
                "in_two_tasks_client_side": len(tracker.reassigned),
                "items_with_two_active_labels": len(doubles["labels"]),
                "items_in_two_tasks": len(doubles["tasks"]),
                "items_claimed_and_labeled_past_need": len(doubles["claims"]),
            },
            "runs": runs,
            # Labelers who look at each page before submitting it: the latency a labeling team feels
            # when the process is not saturated (the runs above have no think time: pure queueing).
            "paced_runs": paced_runs,
        },
        "reference": {
            "health_p50_ms": ms(health, 0.5),
            "health_p99_ms": ms(health, 0.99),
            "health_server_cpu_ms": round(health_cpu, 2),
            # The ceiling: cycles of two /api/health requests by the biggest crew, no work in them.
            **empty,
            **bare,
            **reference,
        },
    }
