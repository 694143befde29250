"""Lisens: an open license server and entitlement engine for the SuperOffice licensing model."""

__version__ = "0.1.0"
