"""Packaging as data: catalog files, their strict schema, the loader and plain views of catalog values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lisens.catalog.loader import load_catalog, load_catalogs, validate_path

__all__ = ["load_catalog", "load_catalogs", "validate_path"]


def __getattr__(name: str) -> Any:
    """The loader's functions, imported when first asked for (the views need no loader)."""
    if name in __all__:
        from lisens.catalog import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
