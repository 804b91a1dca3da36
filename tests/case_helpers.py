"""Helpers of the tests of company projects, cases, redirections, notifications and
agreements: demo people, a project, an accepted redirection, a real (small) PDF, the mail
server down then back.

Projects are built directly as rows (the tests of foncier.prospects.projects cover recording them),
on the demo territory: the founding story's Métropole and Gâtine-Racan, and a third EPCI.
"""

from __future__ import annotations

import socket
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from smtp_server import SmtpServer, running_smtp_server
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from foncier.accounts.users import create_user
from foncier.core.permissions import Actor, Role
from foncier.messaging.delivery import deliver_pending
from foncier.messaging.mail import MailBackend, MailSettings, SmtpSecurity
from foncier.models import Epci, OutboxMessage, Prospect, Redirection, Site, Terrain, User
from foncier.models.codelists import STADES_DISPONIBLES
from foncier.models.prospects import ShortlistedPlot
from seed.accounts import COORDINATOR_EMAIL, PARTNER_EMAIL, referent_email

METROPOLE = "243700754"  # Tours Métropole Val de Loire
GATINE_RACAN = "200073237"  # CC Gâtine et Choisilles - Pays de Racan, the park Polaxis
LOCHES = "200071587"
CHINON = "200043081"
POLAXIS = "37167_SITE-ECO_00005"
POLAXIS_PLOT = "37167_TERRAIN-ECO_05001"
COMPANY = "Ateliers Ligériens de Mécanique"


def user_of(session: Session, email: str) -> User:
    return session.scalars(select(User).where(User.email == email)).one()


def referent_user(session: Session, siren: str) -> User:
    """The demo référent's account of the EPCI ``siren``."""
    return user_of(session, referent_email(session.get(Epci, siren)))


def referent_of(session: Session, siren: str) -> Actor:
    """The demo référent of the EPCI ``siren``."""
    return Actor.of(referent_user(session, siren))


def coordinator(session: Session) -> Actor:
    return Actor.of(user_of(session, COORDINATOR_EMAIL))


def partner(session: Session) -> Actor:
    return Actor.of(user_of(session, PARTNER_EMAIL))


def third_epci(session: Session) -> str:
    """An EPCI of the demo other than the Métropole and Gâtine-Racan, with plots on sale."""
    return session.scalars(
        select(Site.site_epci_siren)
        .join(Terrain)
        .where(
            Site.site_epci_siren.not_in((METROPOLE, GATINE_RACAN)),
            Terrain.terr_stade_comm.in_(STADES_DISPONIBLES),
        )
        .order_by(Site.site_epci_siren)
        .limit(1)
    ).one()


def plots_on_sale(session: Session, siren: str, count: int = 1) -> list[Terrain]:
    """The first plots on sale of an EPCI (Polaxis first for Gâtine-Racan)."""
    return list(
        session.scalars(
            select(Terrain)
            .join(Site)
            .where(Site.site_epci_siren == siren, Terrain.terr_stade_comm.in_(STADES_DISPONIBLES))
            .order_by(Site.site_id != POLAXIS, Terrain.terr_id)
            .limit(count)
        )
    )


def keep_plots(session: Session, prospect: Prospect, terr_ids: list[str]) -> None:
    """Put the plots in the project's selection, as a proposal to another EPCI requires (as
    rows: the shortlist's own tests cover keeping them)."""
    kept = {plot.terr_id for plot in prospect.shortlist}
    prospect.shortlist.extend(ShortlistedPlot(terr_id=t) for t in terr_ids if t not in kept)
    session.flush()


def new_prospect(session: Session, lead: str = METROPOLE, **values: Any) -> Prospect:
    """A company project recorded by ``lead`` (flushed, audited as the tests' actor)."""
    prospect = Prospect(
        origin_epci_siren=lead,
        lead_epci_siren=lead,
        company_name=COMPANY,
        naf_code="25.62B",
        needs={"surface_ha": {"min": 1, "max": 3}},
        jobs_planned=40,
        source="direct",
        **values,
    )
    session.add(prospect)
    session.flush()
    return prospect


def add_referent(session: Session, siren: str, email: str, *, active: bool = True) -> User:
    """Another référent of the EPCI ``siren`` (an inactive one if ``active`` is False)."""
    user = create_user(
        session, Actor.system("tests"), email=email, nom=f"Référent {email}",
        role=Role.REFERENT, epci_siren=siren, password="un-mot-de-passe-solide-42",
    )  # fmt: skip
    user.active = active
    session.flush()
    return user


def smtp_on(port: int, **options: object) -> MailSettings:
    """SMTP settings for a server on a local port, in clear unless ``options`` say otherwise."""
    values: dict[str, Any] = {
        "backend": MailBackend.SMTP,
        "sender": "Foncier économique <foncier@example.org>",
        "base_url": "https://foncier.example.org",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": SmtpSecurity.NONE,
        "smtp_timeout": 5,
    }
    return MailSettings(**(values | options))


def unreachable_smtp() -> MailSettings:
    """SMTP settings pointing at a local port nobody listens on: every message fails."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return smtp_on(unused.getsockname()[1])


def newest_message_id(session: Session) -> int:
    """The last outbox message's id (0 if none): what a step writes comes after it."""
    return session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))) or 0


def waiting(session: Session, ids: Collection[int]) -> list[OutboxMessage]:
    """The messages ``ids``, tried once while the mail server was down: each still pending,
    with its error recorded."""
    session.expire_all()
    messages = list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))))
    assert messages and len(messages) == len(ids)
    for message in messages:
        assert (message.status, message.attempts, message.sent_at) == ("pending", 1, None)
        assert "Connection refused" in (message.last_error or ""), message.last_error
    return messages


def delivered_once_when_back(
    sessions: sessionmaker[Session], messages: Collection[OutboxMessage]
) -> None:
    """The mail server is back and the retry due: a sender delivers each message exactly
    once, and another run finds nothing left to send."""
    ids, later = [m.id for m in messages], datetime.now(UTC) + timedelta(hours=1)
    with running_smtp_server(SmtpServer()) as server:
        settings = smtp_on(server.port)
        assert deliver_pending(sessions, settings, ids=ids, now=later).sent == len(ids)
        assert deliver_pending(sessions, settings, ids=ids, now=later).attempted == 0
    received = sorted(message.recipients for message in server.messages)
    assert received == sorted([m.recipient] for m in messages)


def accepted_redirection(
    session: Session,
    *,
    company: str = COMPANY,
    from_siren: str = METROPOLE,
    to_siren: str = GATINE_RACAN,
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
