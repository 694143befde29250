"""Packaging as data: catalog files, their strict schema, the loader and plain views of catalog values."""

from lisens.catalog.loader import load_catalog, load_catalogs, validate_path

__all__ = ["load_catalog", "load_catalogs", "validate_path"]
