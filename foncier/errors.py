"""Typed domain exceptions, raised by the core and translated at the edges (CLI, HTTP, forms)."""

from __future__ import annotations


class FoncierError(Exception):
    """Base class of every error the core raises on purpose."""


class ConfigurationError(FoncierError):
    """The environment does not let the platform start (missing setting, unreachable database)."""


class NotFoundError(FoncierError):
    """A referenced record does not exist."""


class TerritoryError(FoncierError):
    """The reference territory cannot be loaded (unknown département, missing package data)."""


class InvalidGeometryError(FoncierError):
    """A geometry could not be parsed or is not valid."""
