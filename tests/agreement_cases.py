"""What the agreement tests share: the founding story's accepted redirection, the demo
accounts as actors, and a real (small) PDF."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.models import Epci, Prospect, Redirection, User
from foncier.permissions import Actor, Role
from seed.accounts import COORDINATOR_EMAIL, PARTNER_EMAIL

METROPOLE = "243700754"  # Tours Métropole Val de Loire
GATINE = "200073237"  # CC Gâtine et Choisilles - Pays de Racan (Polaxis)
COMPANY = "Menuiseries Ligériennes Confidentielles SAS"


def actor_for(session: Session, email: str) -> Actor:
    return Actor.of(session.scalars(select(User).where(User.email == email)).one())


def referent_user(session: Session, siren: str) -> User:
    return session.scalars(
        select(User).where(User.role == Role.REFERENT.value, User.epci_siren == siren).limit(1)
    ).one()


def referent_of(session: Session, siren: str) -> Actor:
    return Actor.of(referent_user(session, siren))


def coordinator(session: Session) -> Actor:
    return actor_for(session, COORDINATOR_EMAIL)


def partner(session: Session) -> Actor:
    return actor_for(session, PARTNER_EMAIL)


def third_epci(session: Session) -> str:
    """A communauté de communes that is neither the Métropole nor Gâtine-Racan."""
    return session.scalars(
        select(Epci.siren).where(Epci.nature == "CC", Epci.siren != GATINE).order_by(Epci.siren)
    ).first()  # type: ignore[return-value]


def accepted_redirection(
    session: Session,
    *,
    company: str = COMPANY,
    from_siren: str = METROPOLE,
    to_siren: str = GATINE,
    jobs_created: int | None = None,
    status: str = "acceptee",
) -> Redirection:
    """A project recorded by ``from_siren`` and redirected to ``to_siren``, who accepted it
    and leads it now (written directly: the redirection workflow is tested elsewhere)."""
    prospect = Prospect(
        origin_epci_siren=from_siren,
        lead_epci_siren=to_siren if status == "acceptee" else from_siren,
        company_name=company,
        needs={"surface_ha": {"min": 1, "max": 3}},
        source="direct",
        stage="installe" if jobs_created is not None else "recherche",
        jobs_created=jobs_created,
    )
    session.add(prospect)
    session.flush()
    redirection = Redirection(
        prospect_id=prospect.id,
        from_epci_siren=from_siren,
        to_epci_siren=to_siren,
        message="Pas de terrain adapté dans la Métropole.",
        status=status,
        answered_at=datetime.now(UTC) if status == "acceptee" else None,
    )
    session.add(redirection)
    session.flush()
    return redirection


def small_pdf(text: str = "Convention de partage") -> bytes:
    """A valid one-page PDF with its cross-reference table, built byte by byte."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, content in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return body
