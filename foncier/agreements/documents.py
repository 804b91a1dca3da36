"""The signed document of an agreement: a PDF (checked by its magic bytes and size), uploaded
by a party or the coordinateur, read only by those who may see the agreement's details.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Final

from sqlalchemy import func
from sqlalchemy.orm import Session

from foncier.agreements.rules import (
    locked_agreement,
    require_details,
    require_negotiator,
    sirens_of_parties,
)
from foncier.core import audit
from foncier.core.db import get_or_raise
from foncier.core.errors import ValidationError
from foncier.core.permissions import Actor
from foncier.models import Agreement, AgreementDocument, AuditEvent

MAX_DOCUMENT_BYTES: Final = 10 * 1024 * 1024
PDF_MAGIC: Final = b"%PDF-"
SAFE_FILENAME: Final = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FILENAME: Final = 100


def attach_document(
    session: Session, actor: Actor, agreement: Agreement, filename: str, content: bytes
) -> AgreementDocument:
    """Keep ``content`` (a PDF of 10 MB at most) as the agreement's signed document, in place
    of the previous one; the replacement is recorded in the agreement's audit trail."""
    agreement = locked_agreement(session, agreement.id)
    require_negotiator(actor, sirens_of_parties(agreement))
    require_details(session, actor, agreement)
    _check_pdf(content)
    name = safe_filename(filename)
    digest = hashlib.sha256(content).hexdigest()
    document = session.get(AgreementDocument, agreement.id)
    before = f"{document.filename} ({document.sha256[:12]})" if document else None
    if document is None:
        document = AgreementDocument(agreement_id=agreement.id)
        session.add(document)
    document.filename, document.content, document.sha256 = name, content, digest
    document.size, document.uploaded_by = len(content), actor.user_id
    document.uploaded_at = func.now()
    session.add(_document_event(actor, agreement, before, f"{name} ({digest[:12]})"))
    session.flush()
    return document


def document_for(session: Session, actor: Actor, agreement_id: int) -> AgreementDocument:
    """The signed PDF, for the parties in the know and the coordinateur."""
    agreement = get_or_raise(session, Agreement, agreement_id)
    require_details(session, actor, agreement)
    return get_or_raise(
        session, AgreementDocument, agreement.id, f"agreement {agreement_id} has no document"
    )


def safe_filename(filename: str) -> str:
    """A file name without path, accents nor characters a header or a disk would mind."""
    base = re.split(r"[\\/]", filename)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    cleaned = SAFE_FILENAME.sub("_", ascii_name).strip("._")[:MAX_FILENAME]
    stem = cleaned[:-4] if cleaned.lower().endswith(".pdf") else cleaned
    return f"{stem or 'convention'}.pdf"


def _check_pdf(content: bytes) -> None:
    if not content.startswith(PDF_MAGIC):
        raise ValidationError({"document": "Le fichier n’est pas un PDF."})
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ValidationError(
            {"document": f"Le PDF dépasse {MAX_DOCUMENT_BYTES // (1024 * 1024)} Mo."}
        )


def _document_event(
    actor: Actor, agreement: Agreement, before: str | None, after: str
) -> AuditEvent:
    # The document is not an audited model (its bytes have no place in the trail): its
    # replacement is written as a change of the agreement's "document" field.
    return AuditEvent(
        user_id=actor.user_id,
        actor_label=actor.label,
        action="update",
        entity_type=audit.ENTITY_TYPES[Agreement],
        entity_id=str(agreement.id),
        changes={"document": [before, after]},
        reason="Dépôt du document signé",
        version=agreement.version,
    )
