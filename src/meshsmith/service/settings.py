"""The ONE settings object of the service, read from ``MESHSMITH_*`` environment variables.

Every command-line flag of ``meshsmith serve`` and ``meshsmith keys`` maps onto a field here
(``--data-dir`` is ``MESHSMITH_DATA_DIR``, and so on). :func:`load_settings` validates them
once at start-up; in production mode the server refuses to start with the default secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The development secret. Fine on a laptop; refused when ``MESHSMITH_MODE=production``.
DEFAULT_SECRET = "meshsmith-development-secret-change-me"


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class PriceTable(BaseSettings):
    """Credits per task option (``MESHSMITH_PRICE__BASE=20`` and so on)."""

    model_config = SettingsConfigDict(extra="forbid")

    base: int = Field(20, ge=0)
    texture: int = Field(10, ge=0)
    detailed_texture: int = Field(10, ge=0)
    detailed_geometry: int = Field(20, ge=0)
    quad: int = Field(5, ge=0)
    smart_low_poly: int = Field(10, ge=0)
    parts: int = Field(20, ge=0)
    #: Tripo's convert_model: writing an earlier model in another format or shape.
    convert: int = Field(5, ge=0)


class Settings(BaseSettings):
    """Everything the service reads from its environment. Durations are seconds."""

    model_config = SettingsConfigDict(env_prefix="MESHSMITH_", env_nested_delimiter="__",
                                      extra="ignore")

    mode: Literal["development", "production"] = "development"
    data_dir: Path = Path("meshsmith-data")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    public_url: str | None = None
    secret_key: str = DEFAULT_SECRET
    workers: int = Field(default_factory=_default_workers, ge=1, le=64)
    queue: Literal["local", "celery"] = "local"
    #: Scale-out (``queue=celery``): the Redis broker, and the prefix of its queue names
    #: (``<prefix>.<engine>``) and Redis keys, so several deployments can share one Redis.
    broker_url: str | None = None
    queue_prefix: str = Field("meshsmith", pattern=r"^[A-Za-z0-9_.-]+$")
    #: Migrate the schema when the API starts; default: only with the embedded queue. In
    #: scale-out mode ``meshsmith db upgrade`` migrates and the API refuses a stale schema.
    migrate_on_start: bool | None = None

    storage: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_prefix: str = ""
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    #: How the API serves a download from S3: ``stream`` it, or ``redirect`` (307) to a
    #: presigned S3 URL valid for ``signed_url_ttl_s``.
    s3_downloads: Literal["stream", "redirect"] = "stream"

    task_timeout_s: float = Field(3600.0, gt=0)
    lease_s: float = Field(30.0, gt=0)
    max_attempts: int = Field(3, ge=1)
    scheduler_interval_s: float = Field(1.0, gt=0)
    worker_nice: int = Field(10, ge=0, le=19)
    db_write_threads: int = Field(2, ge=1, le=64)

    output_retention_s: float = Field(7 * 86400.0, gt=0)
    signed_url_ttl_s: int = Field(3600, gt=0)
    access_token_ttl_s: int = Field(86400, gt=0)
    default_max_concurrency: int = Field(10, ge=1)
    default_rate_limit_per_min: int = Field(600, ge=1)
    max_upload_bytes: int = Field(20_000_000, gt=0)

    fetch_allow: list[str] = Field(default_factory=list)
    fetch_connect_timeout_s: float = Field(5.0, gt=0)
    fetch_read_timeout_s: float = Field(15.0, gt=0)

    webhook_timeout_s: float = Field(10.0, gt=0)
    webhook_backoff_s: list[float] = Field(
        default_factory=lambda: [30.0, 60.0, 120.0, 300.0, 600.0, 900.0])

    price: PriceTable = Field(default_factory=PriceTable)  # type: ignore[arg-type]
    #: US dollars per credit, for the spark_3d dialect's ``usage.cost``.
    spark_usd_per_credit: float = Field(0.01, ge=0)

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.mode == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError("MESHSMITH_SECRET_KEY must be set to a private value when "
                             "MESHSMITH_MODE=production")
        if self.mode == "production" and len(self.secret_key) < 32:
            raise ValueError("MESHSMITH_SECRET_KEY must be at least 32 characters in production")
        return self

    @model_validator(mode="after")
    def _scale_out_needs_its_services(self) -> Settings:
        if self.queue == "celery" and not self.broker_url:
            raise ValueError("MESHSMITH_QUEUE=celery needs MESHSMITH_BROKER_URL "
                             "(e.g. redis://127.0.0.1:6379/0)")
        if self.broker_url and not self.broker_url.startswith(("redis://", "rediss://")):
            raise ValueError("MESHSMITH_BROKER_URL must be a redis:// or rediss:// URL")
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError("MESHSMITH_STORAGE=s3 needs MESHSMITH_S3_BUCKET")
        return self

    @property
    def auto_migrate(self) -> bool:
        """Whether the API migrates the schema itself (see ``migrate_on_start``)."""
        return self.queue == "local" if self.migrate_on_start is None else self.migrate_on_start

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL: ``database_url``, or SQLite in the data directory."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'meshsmith.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    def base_url(self) -> str:
        """The URL clients reach this server at (for signed download links)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; ``overrides`` (e.g. CLI flags) win over the env."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**given)
