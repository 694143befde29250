"""Settings: one object built at the entry point (environment prefix LISENS_) and passed down."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """An SQLite file in the user's data directory."""
    return f"sqlite:///{Path(user_data_dir('lisens', appauthor=False)) / 'lisens.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LISENS_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    # A PostgreSQL hot standby of `database_url`: read-only units of work read there (falling back to
    # the primary when it lags behind a read's `min_version` or cannot be reached); writes never do.
    replica_url: str | None = None
    # Connections each API process keeps to PostgreSQL (the primary, and as many to the replica): a pool
    # of `pool_size`, and up to `pool_max_overflow` more while busy (docs/deploy.md: connection pooling).
    pool_size: int = Field(default=5, ge=1)
    pool_max_overflow: int = Field(default=10, ge=0)
    catalog_dir: Path | None = None
    prices_dir: Path | None = None  # price lists (prices-G.toml); the shipped example prices by default
    signing_key: Path | None = None  # the vendor's Ed25519 private key (PEM) for packages and snapshots
    public_key: Path | None = None  # the key packages are verified with (default: the signing key's)
    actor: str | None = None  # who the audit log names for changes made from this process
    # SuperOffice clients may be given a base URL with a path: the compatibility routes answer there too.
    compat_prefix: str = ""
    shop_url: str = ""  # what GetShopUrl answers
    # Signs the panel's session cookies. Without it a secret is made once and kept in the database,
    # so every worker (and a restarted server) shares it.
    session_secret: str | None = None
    secure_cookies: bool = False  # cookies only over HTTPS even when a request came in plain HTTP
    # Addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed
    # (comma-separated IPs or networks, "*" for any); others are the client themselves.
    trusted_proxies: str = "127.0.0.1"
    # Failed authentications (unknown tokens, failed panel log-ins) one client address may make in
    # `auth_failure_window` seconds before it is answered 429; counted per worker process.
    auth_failure_limit: int = Field(default=20, ge=1)
    auth_failure_window: int = Field(default=60, ge=1)
    # FastAPI's own OpenTelemetry spans and metrics of each request (off: Lisens logs and counts every
    # request itself, and the check path does not pay for instrumentation nobody configured).
    opentelemetry: bool = False
