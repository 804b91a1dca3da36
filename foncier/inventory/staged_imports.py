"""Imports made through the web: upload, preview (a dry run), then confirmation.

The uploaded files wait in PendingImportFile between the preview and the confirmation, as one
batch named by a random token. Only the person who uploaded a batch can see its preview and
confirm it; the confirmation runs the import again on the same files, all or nothing, with that
person's EPCI scope, then deletes the batch. Batches left unconfirmed are purged after a day.
One account may have at most MAX_PENDING_BATCHES batches and MAX_PENDING_BYTES waiting at
once: every upload is kept in the database until it is confirmed or abandoned, so without a
bound one person could fill it.

The inventory may change between the preview and the confirmation: the confirmation carries
the preview's fingerprint (the version of every park and plot it compared the files with), and
is refused, with nothing written, unless the import finds them as the preview did. Otherwise it
could do something other than what the person approved, such as put back a price someone has
just changed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from foncier.core.errors import (
    ImportConflictError,
    ImportRejectedError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from foncier.core.permissions import Actor
from foncier.inventory.cnig import ImportReport, Issue, SourceFile, import_cnig
from foncier.inventory.cnig.importer import require_import_right
from foncier.inventory.cnig.sources import Format, csv_table, format_of
from foncier.models import PendingImportFile, User

PENDING_LIFETIME: Final = timedelta(days=1)
# What one account may have uploaded and neither confirmed nor abandoned: a few imports of a
# département's files at once, far below what would weigh on the database.
MAX_PENDING_BATCHES: Final = 3
MAX_PENDING_BYTES: Final = 64 * 2**20
# The most rows (lines, features) a file of a web import may have: a preview and its
# confirmation each check and count every row within a web request, and a département's
# inventory has a few thousand plots. National-size files go through `foncier import cnig`.
MAX_ROWS_PER_FILE: Final = 20_000
# What a batch's files are, as PendingImportFile.role stores it.
ROLES_OF_TABLES: Final = {"SITE-ECO": "sites", "TERRAIN-ECO": "terrains"}
GEO_ROLE: Final = "geo"
CHANGED_SINCE_PREVIEW: Final = (
    "Des parcs ou terrains de cet import ont été modifiés depuis l’aperçu : rien n’a été "
    "enregistré. Voici l’aperçu à jour ; confirmez à nouveau si l’import doit toujours "
    "s’appliquer."
)


@dataclass(frozen=True)
class ImportPreview:
    """What confirming a batch would do: its report, or the errors that would refuse it."""

    batch: str
    filenames: list[str]
    report: ImportReport

    @property
    def accepted(self) -> bool:
        return self.report.accepted

    @property
    def issues(self) -> list[Issue]:
        return self.report.issues

    @property
    def fingerprint(self) -> str:
        """What the preview saw of the inventory; confirming it is checked against it."""
        return fingerprint_of(self.report)


def fingerprint_of(report: ImportReport) -> str:
    """A digest of the version of every stored park and plot the import compared its rows with
    (None for the rows it creates): any save to them in between changes it."""
    seen = [
        [outcome.key, outcome.version]
        for counts in (report.sites, report.terrains)
        if counts
        for outcome in counts.rows
    ]
    return hashlib.sha256(json.dumps(seen).encode()).hexdigest()


def role_of(upload: SourceFile) -> str:
    """ "sites" or "terrains" for a CSV file of that class, "geo" for a GeoJSON or GeoPackage
    (or a CSV file whose class cannot be told: the import reports it)."""
    if format_of(upload) is Format.CSV:
        table = csv_table(upload)
        if table is not None:
            return ROLES_OF_TABLES[table.label]
    return GEO_ROLE


def purge_pending_imports(session: Session, now: datetime | None = None) -> int:
    """Delete the batches uploaded more than a day ago; how many files were deleted."""
    limit = (now or datetime.now(UTC)) - PENDING_LIFETIME
    result = session.execute(delete(PendingImportFile).where(PendingImportFile.created_at < limit))
    return result.rowcount


def stage_import(session: Session, actor: Actor, uploads: Sequence[SourceFile]) -> str:
    """Keep ``uploads`` as a new batch of ``actor``'s; its token."""
    require_import_right(actor)
    if not uploads:
        raise ValueError("an import needs at least one file")
    if actor.user_id is None:
        raise PermissionDeniedError("Seule une personne connectée peut déposer des fichiers.")
    purge_pending_imports(session)
    _check_room(session, actor.user_id, sum(len(upload.content) for upload in uploads))
    batch = secrets.token_urlsafe(32)
    session.add_all(
        PendingImportFile(
            batch=batch,
            user_id=actor.user_id,
            role=role_of(upload),
            filename=upload.basename,
            content=upload.content,
        )
        for upload in uploads
    )
    session.flush()
    return batch


@dataclass(frozen=True)
class PendingImport:
    """A batch its uploader has neither confirmed nor abandoned."""

    batch: str
    filenames: list[str]
    size: int
    uploaded_at: datetime


def pending_imports(session: Session, actor: Actor) -> list[PendingImport]:
    """``actor``'s batches waiting for a confirmation, oldest first."""
    limit = datetime.now(UTC) - PENDING_LIFETIME
    rows = session.execute(
        select(
            PendingImportFile.batch,
            func.array_agg(aggregate_order_by(PendingImportFile.filename, PendingImportFile.id)),
            func.sum(func.octet_length(PendingImportFile.content)),
            func.min(PendingImportFile.created_at),
        )
        .where(PendingImportFile.user_id == actor.user_id, PendingImportFile.created_at >= limit)
        .group_by(PendingImportFile.batch)
        .order_by(func.min(PendingImportFile.id))
    )
    return [PendingImport(batch, list(names), int(size), at) for batch, names, size, at in rows]


def _check_room(session: Session, user_id: int, new_bytes: int) -> None:
    """Refuse an upload that would take the account beyond its pending batches or bytes."""
    # One upload of an account at a time: two at once would both see room for themselves.
    session.execute(select(User.id).where(User.id == user_id).with_for_update())
    batches, stored = session.execute(
        select(
            func.count(func.distinct(PendingImportFile.batch)),
            func.coalesce(func.sum(func.octet_length(PendingImportFile.content)), 0),
        ).where(PendingImportFile.user_id == user_id)
    ).one()
    if batches >= MAX_PENDING_BATCHES:
        raise ValidationError(
            {
                "fichiers": f"Vous avez déjà {batches} imports en attente : confirmez-les ou "
                "abandonnez-les (liste « Imports en attente » ci-dessous) avant d’en déposer "
                "un autre."
            }
        )
    if stored + new_bytes <= MAX_PENDING_BYTES:
        return
    most = f"{MAX_PENDING_BYTES // 2**20} Mo"
    if not stored:  # an upload limit set above this one (FONCIER_MAX_UPLOAD_MB)
        message = f"Ces fichiers dépassent {most} : déposez-les en plusieurs fois."
    else:
        message = (
            f"Vos imports en attente et ces fichiers dépasseraient {most} : confirmez ou "
            "abandonnez d’abord les imports en attente (liste « Imports en attente » ci-dessous)."
        )
    raise ValidationError({"fichiers": message})


def _batch_files(
    session: Session, actor: Actor, batch: str, now: datetime | None = None
) -> list[PendingImportFile]:
    limit = (now or datetime.now(UTC)) - PENDING_LIFETIME
    files = list(
        session.scalars(
            select(PendingImportFile)
            .where(PendingImportFile.batch == batch, PendingImportFile.created_at >= limit)
            .order_by(PendingImportFile.id)
        )
    )
    if not files:
        raise NotFoundError(
            "Cet import n’existe plus : il a été confirmé, abandonné, ou déposé il y a plus "
            "d’un jour. Déposez à nouveau les fichiers."
        )
    if any(file.user_id != actor.user_id for file in files):
        raise PermissionDeniedError(
            "Seule la personne qui a déposé ces fichiers peut voir et confirmer cet import."
        )
    return files


def _run(
    session: Session, actor: Actor, files: list[PendingImportFile], dry_run: bool
) -> ImportReport:
    sources = [SourceFile(file.filename, file.content) for file in files]
    return import_cnig(
        session, files=sources, dry_run=dry_run, actor=actor, max_rows=MAX_ROWS_PER_FILE
    )


def preview_import(session: Session, actor: Actor, batch: str) -> ImportPreview:
    """Check the batch and count what it would create, update and leave; write nothing."""
    files = _batch_files(session, actor, batch)
    try:
        report = _run(session, actor, files, dry_run=True)
    except ImportRejectedError as refused:
        assert isinstance(refused.report, ImportReport)
        report = refused.report
    return ImportPreview(batch, [file.filename for file in files], report)


def confirm_import(session: Session, actor: Actor, batch: str, seen: str) -> ImportReport:
    """Import the batch (all or nothing) as its preview showed it, and forget it; flush, no
    commit. ``seen``: the fingerprint of the preview the person confirms.

    Raises ImportConflictError when a park or plot of the import was saved since that preview
    or while the import ran, ImportRejectedError when the files are refused: then nothing was
    written and the batch is kept, so that a new preview can show what changed or why.
    PermissionDeniedError for anyone but the uploader.
    """
    files = _batch_files(session, actor, batch)
    try:
        with session.begin_nested():
            report = _run(session, actor, files, dry_run=False)
            if fingerprint_of(report) != seen:
                raise ImportConflictError(CHANGED_SINCE_PREVIEW)
    except ImportConflictError:
        # Changed before the import read the inventory or while it wrote: the same refusal.
        session.expire_all()  # the new preview must read what the others saved
        raise ImportConflictError(CHANGED_SINCE_PREVIEW) from None
    for file in files:
        session.delete(file)
    session.flush()
    return report


def discard_import(session: Session, actor: Actor, batch: str) -> None:
    """Forget a batch without importing it."""
    for file in _batch_files(session, actor, batch):
        session.delete(file)
    session.flush()
