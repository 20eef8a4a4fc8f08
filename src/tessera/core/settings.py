"""Every setting, declared once. Environment variables use the `TESSERA_` prefix (`TESSERA_DATABASE_URL`, …).

The docs page docs/settings.md is generated from these declarations (`python -m tessera.cli.reference`)
and a test fails when it is out of date, so a field's `description` is its documentation.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TESSERA_", env_file=None, extra="ignore")

    data_dir: Path = Field(
        Path("tessera-data"),
        description="Folder for the embedded database, uploads, thumbnails and models; created on start.",
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the database. Unset: SQLite at `<data_dir>/tessera.db` (WAL mode). "
            "PostgreSQL: `postgresql+psycopg://user:password@host:5432/name`."
        ),
    )
    sqlite_busy_timeout_ms: int = Field(
        5000, ge=0, description="How long a SQLite writer waits for the write lock before failing, in ms."
    )
    sqlite_cache_mb: int = Field(
        64, ge=2, description="SQLite page cache per connection, in MB (big inserts into indexes need it)."
    )
    database_pool_size: int = Field(
        10, ge=1, description="Connections kept open per process (PostgreSQL; SQLite opens one per thread)."
    )
    labeling_threads: int = Field(
        4,
        ge=1,
        description=(
            "How many next-task and submit requests a server process works on at once; the others wait "
            "their turn on the event loop, not in threads that would contend for the interpreter lock "
            "(their writes take turns anyway on SQLite)."
        ),
    )
    host: str = Field("127.0.0.1", description="Address `tessera serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `tessera serve` listens on.")
    public_url: str | None = Field(
        None, description="The URL users reach Tessera at, when behind a proxy. Unset: http://host:port."
    )
    session_cookie_name: str = Field("tessera_session", description="Name of the browser sign-in cookie.")
    session_max_age_hours: int = Field(
        168, ge=1, description="How long a browser sign-in lasts without activity, in hours."
    )
    cookie_secure: bool = Field(
        False,
        description="Send the sign-in cookie over HTTPS only. Turn on whenever Tessera is served over HTTPS.",
    )
    password_time_cost: int = Field(
        3, ge=1, description="Argon2id time cost (iterations) for password hashes."
    )
    password_memory_kib: int = Field(
        65536, ge=32, description="Argon2id memory cost for password hashes, in KiB (at least 32: 4 lanes)."
    )
    redis_url: str | None = Field(
        None,
        description=(
            "Redis URL (`redis://host:6379/0`). Set: jobs go to RQ and run in `tessera worker` processes. "
            "Unset: jobs run in a thread pool inside the process that created them."
        ),
    )
    rq_queue: str = Field(
        "tessera", description="Name of the RQ queue jobs are sent to and workers listen on."
    )
    job_threads: int = Field(
        2, ge=1, description="Threads of the in-process job runner (when redis_url is unset)."
    )
    job_niceness: int = Field(
        10,
        ge=0,
        le=19,
        description=(
            "How much lower than the labeling requests' the in-process job threads' CPU priority is "
            "(Linux nice value; threads they start inherit it): featurization and training yield the "
            "CPU to labelers. 0 leaves them equal."
        ),
    )
    job_child_process: bool = Field(
        True,
        description=(
            "In-process runner: run the job kinds that keep a core busy for long (ML featurization, "
            "training, inference) in a child process, at the job niceness, so they never hold the "
            "server's interpreter lock while labelers wait. Off: they run in the runner's threads."
        ),
    )
    job_heartbeat_seconds: float = Field(
        5.0, gt=0, description="How often a running job records that it is alive, in seconds."
    )
    job_stale_after_seconds: float = Field(
        60.0,
        gt=0,
        description="A running job whose heartbeat is older than this is marked failed, in seconds.",
    )
    scheduler_interval_seconds: float = Field(
        15.0,
        gt=0,
        description="How often the scheduler in `tessera serve` and `tessera worker` wakes, in seconds.",
    )
    job_modules: list[str] = Field(
        default_factory=list,
        description="Extra Python modules to import so the job functions they register can run (plugins).",
    )
    max_items_per_project: int = Field(
        500_000,
        ge=1,
        description=(
            "Most items a project loads from its dataset (as the reference system). Items past it are left "
            "out and counted; it holds for refreshes too."
        ),
    )
    page_size_default: int = Field(
        50, ge=1, description="Items per page of an API list when none is asked for."
    )
    page_size_max: int = Field(500, ge=1, description="Largest page an API list returns.")
    log_level: str = Field("info", description="Log level: debug, info, warning or error.")
    ml_device: str = Field(
        "auto",
        pattern="^(auto|cpu|cuda)$",
        description=(
            "Where ML assist runs its backbones: `auto` (a GPU when `onnxruntime-gpu` and one are present, "
            "else the CPU), `cpu`, or `cuda` (an error when ONNX Runtime has no CUDA)."
        ),
    )
    ml_threads: int = Field(
        0,
        ge=0,
        description=(
            "Threads ONNX Runtime may use for one backbone (0: every core but one, at least one, so that "
            "featurization leaves the labelers' requests a core and its own decoding threads room)."
        ),
    )
    ml_batch_size: int = Field(32, ge=1, le=1024, description="Items a backbone embeds at once.")
    secret_key: SecretStr | None = Field(
        None,
        description=(
            "Key that encrypts datastore credentials in the database (any long random text). Every server "
            "and worker must share it. Unset: generated on first use and kept in `<data_dir>/secret.key` "
            "(readable by its owner only); losing it makes the stored credentials unreadable."
        ),
    )
    local_datastore_roots: list[Path] = Field(
        default_factory=list,
        description=(
            "Folders on the server under which local-folder datastores may be rooted (JSON list). "
            "Empty: only `<data_dir>/datastores`. The default upload folder is always allowed."
        ),
    )

    upload_datastore: str = Field(
        "uploads",
        min_length=1,
        max_length=200,
        description=(
            "Name of the default datastore, where files uploaded from the browser or `tessera dataset "
            "upload` are written (each upload dataset in its own folder). If no datastore has this name, "
            "a local folder `<data_dir>/datastores/uploads` is made the default on the first use; name an "
            "object-store datastore here when several servers share the uploads."
        ),
    )
    max_upload_bytes: int = Field(
        1024**3,
        ge=1,
        description=(
            "Largest file an upload takes, in bytes (API and CLI). A larger one is refused with 413 and "
            "nothing of its upload is kept."
        ),
    )
    max_upload_request_bytes: int = Field(
        4 * 1024**3,
        ge=1,
        description=(
            "Largest upload request (all its files, as sent), in bytes: a request whose Content-Length is "
            "larger is refused with 413 before it is read, one without stops when it passes it. Never less "
            "than `max_upload_bytes` plus 1 MiB."
        ),
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tessera.db').resolve()}"

    def resolved_local_datastore_roots(self) -> list[Path]:
        """Where local datastores may lie; the default upload folder always may."""
        if not self.local_datastore_roots:
            return [self.data_dir / "datastores"]
        return [*self.local_datastore_roots, self.upload_folder()]

    def upload_folder(self) -> Path:
        """The folder of the default datastore when it is made on first use (absolute)."""
        return (self.data_dir / "datastores" / "uploads").resolve()

    def upload_request_limit(self) -> int:
        """Largest upload request, in bytes: room for at least one file of the largest size."""
        return max(self.max_upload_request_bytes, self.max_upload_bytes + 1024**2)

    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
