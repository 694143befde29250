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
    catalog_dir: Path | None = None
    prices_dir: Path | None = None  # price lists (prices-G.toml); the shipped example prices by default
    signing_key: Path | None = None  # the vendor's Ed25519 private key (PEM) for packages and snapshots
    public_key: Path | None = None  # the key packages are verified with (default: the signing key's)
    actor: str | None = None  # who the audit log names for changes made from this process
    # SuperOffice clients may be given a base URL with a path: the compatibility routes answer there too.
    compat_prefix: str = ""
    shop_url: str = ""  # what GetShopUrl answers
    # Signs the panel's session cookies; set it (the same in every worker) to keep sessions across
    # restarts and workers. Without it each process makes its own.
    session_secret: str | None = None
    secure_cookies: bool = False  # set behind HTTPS: cookies only over HTTPS
