"""Typed domain exceptions, raised by the core and translated at the edges (CLI, HTTP, forms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from foncier.cnig.issues import FileReport


class FoncierError(Exception):
    """Base class of every error the core raises on purpose."""


class ConfigurationError(FoncierError):
    """The environment does not let the platform start (missing setting, unreachable database)."""


class NotFoundError(FoncierError):
    """A referenced record does not exist."""


class TerritoryError(FoncierError):
    """The reference territory cannot be loaded (unknown département, missing package data)."""


class ImportRejectedError(FoncierError):
    """An imported file was refused as a whole and nothing was written; ``report`` says why."""

    def __init__(self, report: FileReport) -> None:
        super().__init__("\n".join(report.english_lines()))
        self.report = report
