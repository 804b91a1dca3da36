"""Typed domain exceptions, raised by the core and translated at the edges (CLI, HTTP, forms)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class RejectionReport(Protocol):
    """What a refused import reports (foncier.inventory.cnig.issues.FileReport is one)."""

    def english_lines(self) -> Iterable[str]: ...


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

    def __init__(self, report: RejectionReport) -> None:
        super().__init__("\n".join(report.english_lines()))
        self.report = report


class ImportConflictError(FoncierError):
    """Parks or plots an import was about to write were saved by someone else after the
    import read them (or, for an import made through the web, after its preview): nothing was
    written."""


class PermissionDeniedError(FoncierError):
    """The acting person may not do this (another EPCI's inventory, a read-only role...)."""


class StaleVersionError(FoncierError):
    """Someone saved the record after the version an edit started from: the edit is refused.

    ``current`` is the record as it is now, so that the person can see the other change.
    """

    def __init__(self, message: str, current: object) -> None:
        super().__init__(message)
        self.current = current


class ValidationError(FoncierError):
    """Data the core refuses, with a message per field (French, shown beside the field)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class MissingActorError(FoncierError):
    """A change to the inventory was about to be written without saying who made it."""
