"""The `web` benchmark: how fast the labeling page moves in a real browser (issue #5: the next page
interactive within 300 ms on loopback, thumbnails on the grid and full resolution only when zoomed, a
9-image page under 1 MB for ordinary photos, the next task prefetched).

Ordinary photos: the real photos of Debian's `darknet` package (/usr/share/darknet/data/*.jpg), each made
a 4032×3024 JPEG at quality 90 (a phone photo), stored PAGES×9 times under different names (hard links)
in a local datastore of a real `tessera serve`. A labeler signs in through the page in Debian's Chromium
(Playwright, headless) and labels PAGES pages of 9 on /projects/{id}/label with the keyboard ("1" nine
times, Enter). Times are taken inside the page with performance.now(): from the Enter keydown to the next
page interactive (9 new tiles, every image loaded, the first tile selected), and from navigation to the
first page interactive. Bytes are the resource timing transfer sizes of each page. Cold: the thumbnails
are made on first request (what a labeler sees); warm: a second project whose thumbnails were requested
beforehand, in a fresh browser profile. Reference, same run: the floor (httpx, no browser: the submit
with `next` plus the 9 thumbnails in parallel, cold and warm), the 9 originals' bytes and a GET of them,
and one thumbnail made in-process.

Environment: TESSERA_BENCH_PAGES (default 20, or --items / 9), TESSERA_BENCH_PHOTO_SIZE (default 4032x3024),
TESSERA_BENCH_PHOTOS (a folder of other *.jpg photos; default /usr/share/darknet/data), TESSERA_CHROMIUM
(default /usr/bin/chromium).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from PIL import Image, ImageOps
from sqlalchemy import select

from bench.support import fresh_database, migrated, percentile
from bench.support import server as tessera_server
from tessera.accounts.models import WorkspaceRole
from tessera.accounts.service import create_api_token, create_user
from tessera.db.session import Database
from tessera.ingest.thumbnails import make_thumbnail
from tessera.items.models import Item
from tessera.queue.lookahead import GRID_THUMBNAIL_SIZE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DARKNET_PHOTOS = Path("/usr/share/darknet/data")
PAGE_SIZE = 9
PASSWORD = "bench-password"
CLASSES = ["animal", "person", "object", "scene"]
RUNS = ("cold", "warm", "floor", "floor_warm")  # one project each: every run sees items never seen
CHROMIUM_FLAGS = [  # as tests/web/conftest.py
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NEXT_TASK = (
    "the submit (POST /api/tasks/{id}/submit, next: true) answers with the next task in the same round "
    "trip; the server makes the thumbnails of the next two pages in the labeling order in the background "
    "as each page is handed out (queue/lookahead.py), so they are on disk when the labeler gets there"
)
THINK_MS = int(os.environ.get("TESSERA_BENCH_THINK_MS") or 1500)  # a labeler's time on a page of 9
# In the page before its scripts: `window.__bench` records the Enter keydown and the first moment after
# it that the grid is interactive (tiles not on the last page, every image loaded, the first selected).
INSTRUMENT = """
(() => {
  performance.setResourceTimingBufferSize(100000);
  const bench = { previous: new Set(), enterAt: null, readyAt: null };
  window.__bench = bench;
  const tiles = () => [...document.querySelectorAll("#grid .tile")];
  function check() {
    if (bench.readyAt !== null) return;
    const shown = tiles();
    if (!shown.length || !shown[0].classList.contains("selected")) return;
    if (shown.some((tile) => bench.previous.has(tile.dataset.itemId))) return;
    const images = shown.map((tile) => tile.querySelector("img"));
    if (images.some((image) => !image || !image.complete || image.naturalWidth === 0)) return;
    bench.readyAt = performance.now();
  }
  window.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    bench.previous = new Set(tiles().map((tile) => tile.dataset.itemId));
    bench.enterAt = performance.now();
    bench.readyAt = null;
  }, true);
  document.addEventListener("load", check, true);
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true });
})();
"""
ENTRIES = """() => ({
  navigation: performance.getEntriesByType("navigation")[0].transferSize,
  resources: performance.getEntriesByType("resource").map((entry) => ({
    url: entry.name, start: entry.startTime, requestStart: entry.requestStart,
    responseStart: entry.responseStart, end: entry.responseEnd, bytes: entry.transferSize,
  })),
})"""
SHOWN = """() => { const shown = document.querySelector("#grid .tile img");
  return [shown.naturalWidth, shown.naturalHeight, shown.clientWidth, shown.clientHeight,
    devicePixelRatio]; }"""


def _photo_size() -> tuple[int, int]:
    width, _, height = os.environ.get("TESSERA_BENCH_PHOTO_SIZE", "4032x3024").partition("x")
    return int(width), int(height)


def _photos() -> Path:
    return Path(os.environ.get("TESSERA_BENCH_PHOTOS") or DARKNET_PHOTOS)


def make_originals(folder: Path, size: tuple[int, int]) -> list[Path]:
    """Each photo cropped to the aspect of `size` and resized to it, as a quality-90 JPEG."""
    sources = sorted(_photos().glob("*.jpg"))
    if not sources:
        raise SystemExit(
            f"no photos in {_photos()}: install Debian's `darknet` package (apt-get install darknet), "
            "which has them in /usr/share/darknet/data, or name a folder of JPEGs in TESSERA_BENCH_PHOTOS"
        )
    folder.mkdir(parents=True)
    made = []
    for source in sources:
        with Image.open(source) as opened:
            photo = ImageOps.fit(opened.convert("RGB"), size, Image.Resampling.LANCZOS)
        photo.save(folder / source.name, "JPEG", quality=90)
        made.append(folder / source.name)
    return made


def fill_folder(folder: Path, originals: list[Path], count: int) -> None:
    folder.mkdir(parents=True)
    for index in range(count):
        original = originals[index % len(originals)]
        os.link(original, folder / f"{index:05d}-{original.name}")


def _ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise SystemExit(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
    return response.json()


def _admin_token(url: str) -> str:
    database = migrated(url)
    with database.write() as session:
        admin = create_user(session, username="bench", password=PASSWORD, workspace_role=WorkspaceRole.admin)
        _, token = create_api_token(session, user=admin, name="bench")
    database.dispose()
    return token


def _wait_for_job(admin: httpx.Client, job_id: int) -> None:
    deadline = time.monotonic() + 300
    while (job := _ok(admin.get(f"/api/jobs/{job_id}")))["status"] not in ("succeeded", "failed"):
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job_id} did not finish: {job}")
        time.sleep(0.1)
    if job["status"] != "succeeded":
        raise SystemExit(f"job {job_id} failed: {job['error']}")


def make_project(admin: httpx.Client, name: str, root: Path, labeler_id: int) -> int:
    """Through the API: a project of 9-item pages over a local datastore at `root`, with the labeler."""
    body = {"name": name, "task_type": "image_classification_multiclass", "label_classes": CLASSES}
    project_id = int(_ok(admin.post("/api/projects", json=body), 201)["id"])
    _ok(admin.put(f"/api/projects/{project_id}/labeling-settings", json={"page_size": PAGE_SIZE}))
    _ok(admin.put(f"/api/projects/{project_id}/members/{labeler_id}", json={"role": "labeler"}))
    store = {"name": f"{name} store", "kind": "local", "config": {"root": str(root)}}
    store_id = _ok(admin.post("/api/datastores", json=store), 201)["id"]
    dataset = {"name": name, "datastore_id": store_id, "media": "image", "patterns": ["**"]}
    dataset_id = _ok(admin.post("/api/datasets", json=dataset), 201)["id"]
    started = _ok(admin.post(f"/api/projects/{project_id}/data", json={"dataset_id": dataset_id}), 202)
    _wait_for_job(admin, started["job"]["id"])
    return project_id


def _item_ids(url: str, project_id: int) -> list[int]:
    database = Database.from_url(url)
    with database.read() as session:
        ids = list(session.scalars(select(Item.id).where(Item.project_id == project_id).order_by(Item.id)))
    database.dispose()
    return ids


def warm_thumbnails(admin: httpx.Client, url: str, project_id: int) -> None:
    """Every item's grid thumbnail requested once, so that the server has it on disk."""
    ids = _item_ids(url, project_id)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda item_id: admin.get(thumbnail_url(item_id)).raise_for_status(), ids))


def thumbnail_url(item_id: int) -> str:
    return f"/api/items/{item_id}/thumbnail?size={GRID_THUMBNAIL_SIZE}"  # what the grid asks for


def _chromium() -> str:
    path = os.environ.get("TESSERA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise SystemExit(f"no Chromium at {path}: install Debian's `chromium` package")
    return path


def _ready(page: Page) -> dict[str, float]:
    page.wait_for_function("() => window.__bench.readyAt !== null", timeout=60_000)
    marks: dict[str, float] = page.evaluate(
        "() => ({enter: window.__bench.enterAt, ready: window.__bench.readyAt})"
    )
    return marks


def browse(browser: Browser, base: str, project_id: int, pages: int) -> dict[str, Any]:
    """Sign in, open the labeling page, label `pages` pages; the marks and resource entries."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/sign-in")
    page.get_by_label("Username").fill("labeler")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    page.add_init_script(INSTRUMENT)
    page.goto(f"{base}/projects/{project_id}/label")
    marks = [_ready(page)]
    shown = page.evaluate(SHOWN)
    for number in range(pages):
        page.wait_for_timeout(THINK_MS)  # the labeler looks at the page (outside the timed span)
        for _ in range(PAGE_SIZE):
            page.keyboard.press("1")
        page.keyboard.press("Enter")
        if number < pages - 1:
            marks.append(_ready(page))
    page.wait_for_selector("#done:not([hidden])", timeout=60_000)
    entries: dict[str, Any] = page.evaluate(ENTRIES)
    context.close()
    if errors:
        raise SystemExit(f"JavaScript errors on the labeling page: {errors}")
    ends = [*(mark["enter"] for mark in marks[1:]), float("inf")]
    return {"marks": marks, "ends": ends, "shown": shown, **entries}


def _page_figures(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Per page: its ms, bytes by kind and where the time went; page 0 is the first load."""
    pages = []
    resources = run["resources"]
    for index, mark in enumerate(run["marks"]):
        begin = mark["enter"] if index else 0.0
        mine = [entry for entry in resources if begin <= entry["start"] < run["ends"][index]]
        thumbnails = [entry for entry in mine if "/thumbnail" in entry["url"]]
        api = [entry for entry in mine if "/api/" in entry["url"] and entry not in thumbnails]
        figures = {
            "ms": mark["ready"] - begin,
            "bytes": sum(entry["bytes"] for entry in mine) + (run["navigation"] if not index else 0),
            "thumbnail_bytes": sum(entry["bytes"] for entry in thumbnails),
            "api_bytes": sum(entry["bytes"] for entry in api),
            "thumbnails": len(thumbnails),
            "full_resolution": sum(1 for entry in mine if entry["url"].endswith("/content")),
        }
        submit = [entry for entry in api if entry["url"].endswith("/submit")]
        figures["parts"] = _parts(begin, mark["ready"], submit[0], thumbnails) if index and submit else {}
        pages.append(figures)
    return pages


def _parts(begin: float, ready: float, submit: dict[str, Any], thumbnails: list[dict[str, Any]]) -> Any:
    """Where the ms of a next page went: the submit's round trip, the thumbnails' (`wait`: from request
    sent to first byte; `queued`: before it could be sent, six connections a host), the rest in the page."""
    answered = submit["end"]
    return {
        "until_submit_sent": submit["start"] - begin,
        "submit": answered - submit["start"],
        "until_thumbnails_asked": min(entry["start"] for entry in thumbnails) - answered,
        "thumbnails_loading": max(entry["end"] for entry in thumbnails) - answered,
        "thumbnail_wait_max": max(entry["responseStart"] - entry["requestStart"] for entry in thumbnails),
        "thumbnail_queued_max": max(entry["requestStart"] - entry["start"] for entry in thumbnails),
        "after_last_thumbnail": ready - max(entry["end"] for entry in thumbnails),
    }


def _p50(pages: list[dict[str, Any]], key: str) -> float:
    return round(percentile([page[key] for page in pages], 0.5), 1)


def summarize(run: dict[str, Any]) -> dict[str, Any]:
    first, *following = _page_figures(run)
    times = [page["ms"] for page in following]
    sizes = [page["bytes"] / 1024 for page in following]
    thumbnail_bytes = sum(page["thumbnail_bytes"] for page in following)
    parts = [page["parts"] for page in following]
    return {
        "first_page_ms": round(first["ms"], 1),
        "first_page_kb": round(first["bytes"] / 1024, 1),
        "next_page_p50_ms": round(percentile(times, 0.5), 1),
        "next_page_p95_ms": round(percentile(times, 0.95), 1),
        "next_page_max_ms": round(max(times), 1),
        "page_kb_p50": round(percentile(sizes, 0.5), 1),
        "page_kb_max": round(max(sizes), 1),
        "thumbnail_kb_p50": round(_p50(following, "thumbnail_bytes") / 1024, 1),
        "api_kb_p50": round(_p50(following, "api_bytes") / 1024, 1),
        "thumbnails_share": round(thumbnail_bytes / max(1, sum(page["bytes"] for page in following)), 3),
        "thumbnail_requests_per_page_max": max(page["thumbnails"] for page in following),
        "full_resolution_requests": sum(page["full_resolution"] for page in [first, *following]),
        "next_page_p50_breakdown_ms": {key: _p50(parts, key) for key in parts[0]},
        "thumbnail_px_shown_css_px_dpr": run["shown"],
    }


def floor(base: str, project_id: int, pages: int) -> list[float]:
    """Without a browser, signed in like the page: ms from sending the submit (with `next`) until the next
    task's 9 thumbnails have all arrived (fetched in parallel)."""
    with httpx.Client(base_url=base, timeout=60) as client, ThreadPoolExecutor(PAGE_SIZE) as pool:
        signed = _ok(client.post("/api/auth/sign-in", json={"username": "labeler", "password": PASSWORD}))
        client.headers["X-CSRF-Token"] = signed["csrf_token"]

        def thumbnails(task: dict[str, Any]) -> None:
            urls = [thumbnail_url(item["id"]) for item in task["items"]]
            list(pool.map(lambda url: client.get(url).raise_for_status(), urls))

        task = _ok(client.post(f"/api/projects/{project_id}/tasks/next", json={"kind": None}))
        thumbnails(task)
        samples = []
        for number in range(pages):
            time.sleep(THINK_MS / 1000)
            labels = [{"item_id": item["id"], "label": {"classes": [CLASSES[0]]}} for item in task["items"]]
            body = {"labels": labels, "idempotency_key": f"floor-{task['id']}", "next": True}
            started = time.perf_counter()
            task = _ok(client.post(f"/api/tasks/{task['id']}/submit", json=body))["next_task"]
            if number < pages - 1:
                thumbnails(task)
                samples.append((time.perf_counter() - started) * 1000)
    return samples


def full_resolution(admin: httpx.Client, url: str, project_id: int) -> dict[str, float]:
    """The 9 originals of a page: their bytes, and a parallel GET of them (what a grid would do without
    thumbnails)."""
    ids = _item_ids(url, project_id)[:PAGE_SIZE]
    with ThreadPoolExecutor(PAGE_SIZE) as pool:
        started = time.perf_counter()
        sizes = list(pool.map(lambda item_id: len(admin.get(f"/api/items/{item_id}/content").content), ids))
        took = (time.perf_counter() - started) * 1000
    return {
        "full_resolution_page_kb": round(sum(sizes) / 1024, 1),
        "full_resolution_9_get_ms": round(took, 1),
    }


def _thumbnail_in_process_ms(originals: list[Path]) -> float:
    samples = []
    for original in originals:
        with original.open("rb") as handle:
            started = time.perf_counter()
            make_thumbnail(handle, GRID_THUMBNAIL_SIZE)
            samples.append((time.perf_counter() - started) * 1000)
    return round(percentile(samples, 0.5), 1)


def _floor_figures(samples: list[float], name: str) -> dict[str, float]:
    return {
        f"{name}_p50_ms": round(percentile(samples, 0.5), 1),
        f"{name}_p95_ms": round(percentile(samples, 0.95), 1),
    }


def _measure(url: str, scratch: Path, originals: list[Path], pages: int) -> dict[str, Any]:
    data = scratch / "data"
    for name in RUNS:
        fill_folder(data / "datastores" / name, originals, pages * PAGE_SIZE)
    token = _admin_token(url)
    with (
        tessera_server(url, data) as (base, _),
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as admin,
    ):
        labeler = _ok(admin.post("/api/users", json={"username": "labeler", "password": PASSWORD}), 201)
        projects = {
            name: make_project(admin, name, data / "datastores" / name, labeler["id"]) for name in RUNS
        }
        warm_thumbnails(admin, url, projects["warm"])
        warm_thumbnails(admin, url, projects["floor_warm"])
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS
            )
            cold = browse(browser, base, projects["cold"], pages)
            warm = browse(browser, base, projects["warm"], pages)
            version = browser.version
            browser.close()
        reference = {
            **_floor_figures(floor(base, projects["floor"], pages), "floor_next_page"),
            **_floor_figures(floor(base, projects["floor_warm"], pages), "floor_warm_next_page"),
            **full_resolution(admin, url, projects["floor"]),
        }
    return {"cold": cold, "warm": warm, "reference": reference, "chromium": version}


def run(*, items: int | None, database: str | None) -> dict[str, Any]:
    pages = max(2, int(os.environ.get("TESSERA_BENCH_PAGES") or (items or 0) // PAGE_SIZE or 20))
    size = _photo_size()
    load = round(os.getloadavg()[0], 2)  # the browser, server and bench share these CPUs
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as scratch:
        url = fresh_database(database, Path(scratch))
        originals = make_originals(Path(scratch) / "originals", size)
        measured = _measure(url, Path(scratch), originals, pages)
        reference = {
            **measured["reference"],
            "thumbnail_made_in_process_p50_ms": _thumbnail_in_process_ms(originals),
        }
        original_kb = [original.stat().st_size / 1024 for original in originals]
    cold, warm = summarize(measured["cold"]), summarize(measured["warm"])
    return {
        "bench": "web",
        "params": {
            "pages": pages,
            "page_size": PAGE_SIZE,
            "photos": f"{len(originals)} distinct photos ({_photos()}/*.jpg: "
            f"{', '.join(original.stem for original in originals)}), each cropped and resized to "
            f"{size[0]}x{size[1]}, JPEG quality 90, stored {pages * PAGE_SIZE} times under other names "
            "(hard links)",
            "photo_kb_mean": round(sum(original_kb) / len(original_kb), 1),
            "browser": f"Chromium {measured['chromium']} headless (Playwright), viewport 1280x860, loopback",
            "database": url.split(":", 1)[0],
            "cpus": os.cpu_count(),
            "load_average_1m_before": load,
            "thumbnails": f"{GRID_THUMBNAIL_SIZE} px, made on first request or ahead by the server "
            "(Pillow draft mode), then kept on disk: cold = items nobody viewed, as a labeler gets them; "
            "warm = every thumbnail requested beforehand, fresh browser",
            "think_ms": THINK_MS,
            "next_task": NEXT_TASK,
        },
        "figures": {
            **cold,
            "warm": {key: value for key, value in warm.items() if key != "thumbnail_px_shown_css_px_dpr"},
            "goal_next_page_p95_under_300_ms": cold["next_page_p95_ms"] < 300,
            "goal_page_under_1_mb": cold["page_kb_max"] < 1024,
        },
        "reference": reference,
    }
