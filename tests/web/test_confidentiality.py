"""A company's identity never reaches members outside its project's EPCIs — anywhere.

The founding story is recorded as it stands at its end (a Tours Métropole project redirected
to Gâtine-Racan, declined first by Chinon, settled on a Polaxis plot, an agreement signed with
its PDF), then a walk reads every page, API answer and download each kind of member can
reach, following every link, and looks for the company's name, SIREN, contacts and the words
of the messages and notes. The people in the know must find them (the walk reaches them);
the others never.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from case_helpers import CHINON, GATINE_RACAN, LOCHES, METROPOLE, POLAXIS, POLAXIS_PLOT
from flask import Flask
from flask.testing import FlaskClient
from leak_crawl import route_urls, walk
from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.models import (
    Agreement,
    AgreementDocument,
    AgreementParty,
    AgreementRedirection,
    CaseEvent,
    Epci,
    Notification,
    Prospect,
    RedirectedPlot,
    Redirection,
    ShortlistedPlot,
    User,
)
from seed.accounts import COORDINATOR_EMAIL, PARTNER_EMAIL, referent_email

SECRETS = {
    "company_name": "Cartonnerie Zéphyrine",
    "company_siren": "732829320",
    "contact_name": "Hortense Valadier",
    "contact_email": "h.valadier@zephyrine.example",
    "contact_phone": "02 47 99 31 07",
    "notes": "rencontrée au salon Mécaplast",
    "message": "chaîne de pliage-collage",
    "decline_note": "aucune réserve foncière ferroviaire",
    "answer_note": "quai trop étroit",
    "event_note": "visite avec le dirigeant fondateur",
    "free_text": "clause de revoyure triennale",
}


@dataclass(frozen=True)
class Story:
    prospect: Prospect
    declined: Redirection
    accepted: Redirection
    agreement: Agreement
    notification: Notification


def _user_id(session: Session, email: str) -> int:
    return session.scalars(select(User.id).where(User.email == email)).one()


def _email(session: Session, siren: str) -> str:
    return referent_email(session.get(Epci, siren))


def _redirection(prospect: Prospect, to: str, status: str, **extra: object) -> Redirection:
    return Redirection(
        prospect_id=prospect.id,
        from_epci_siren=METROPOLE,
        to_epci_siren=to,
        message=f"Entreprise à accueillir : {SECRETS['message']}",
        status=status,
        **extra,
    )


@pytest.fixture
def story(session: Session) -> Story:
    prospect = Prospect(
        origin_epci_siren=METROPOLE,
        lead_epci_siren=GATINE_RACAN,
        company_name=SECRETS["company_name"],
        company_siren=SECRETS["company_siren"],
        naf_code="17.21A",
        contact_name=SECRETS["contact_name"],
        contact_email=SECRETS["contact_email"],
        contact_phone=SECRETS["contact_phone"],
        contact_retention_until=date.today() + timedelta(days=365),
        needs={"surface_min_ha": 2, "surface_max_ha": 6, "label": SECRETS["company_name"]},
        jobs_planned=45,
        source="reseau",
        notes=SECRETS["notes"],
        stage="installe",
        terr_id=POLAXIS_PLOT,
        installed_on=date.today(),
        jobs_created=38,
    )
    session.add(prospect)
    session.flush()
    session.add(
        ShortlistedPlot(
            prospect_id=prospect.id,
            terr_id=POLAXIS_PLOT,
            proposed_on=date.today(),
            company_answer="interessee",
            answer_note=SECRETS["answer_note"],
        )
    )
    declined = _redirection(
        prospect,
        CHINON,
        "declinee",
        decline_reason="pas_de_terrain",
        decline_note=SECRETS["decline_note"],
    )
    accepted = _redirection(prospect, GATINE_RACAN, "acceptee")
    session.add_all([declined, accepted])
    session.flush()
    session.add(RedirectedPlot(redirection_id=accepted.id, terr_id=POLAXIS_PLOT))
    session.add(
        CaseEvent(
            prospect_id=prospect.id,
            redirection_id=accepted.id,
            actor_label=_email(session, GATINE_RACAN),
            epci_siren=GATINE_RACAN,
            kind="stage",
            details={"to": "visite"},
            note=SECRETS["event_note"],
        )
    )
    agreement = Agreement(
        title=f"Convention {SECRETS['company_name']}",
        status="signee",
        tax_kind="cfe",
        tax_years=5,
        first_year=date.today().year + 1,
        estimated_annual_amount=48_000,
        free_text=SECRETS["free_text"],
        parties=[
            AgreementParty(epci_siren=METROPOLE, share_percent=40, signed_on=date.today()),
            AgreementParty(epci_siren=GATINE_RACAN, share_percent=60, signed_on=date.today()),
        ],
    )
    session.add(agreement)
    session.flush()
    session.add(AgreementRedirection(agreement_id=agreement.id, redirection_id=accepted.id))
    session.add(
        AgreementDocument(
            agreement_id=agreement.id,
            filename="convention.pdf",
            content=f"%PDF-1.4\n% {SECRETS['company_name']}\n%%EOF\n".encode(),
            sha256="0" * 64,
            size=40,
        )
    )
    notification = Notification(
        user_id=_user_id(session, _email(session, GATINE_RACAN)),
        subject=f"Redirection : {SECRETS['company_name']}",
        body=SECRETS["message"],
        link=f"/projets/{prospect.id}",
        prospect_id=prospect.id,
    )
    session.add(notification)
    session.flush()
    return Story(prospect, declined, accepted, agreement, notification)


def _route_values(session: Session, story: Story, viewer: str) -> dict[str, object]:
    """Values for the path parameters of every GET route."""
    prospect_id = story.prospect.id
    return {
        "terr_id": POLAXIS_PLOT,
        "site_id": POLAXIS,
        "prospect_id": prospect_id,
        "redirection_id": story.accepted.id,
        "agreement_id": story.agreement.id,
        "notification_id": story.notification.id,
        "user_id": _user_id(session, viewer),
        "epci_siren": GATINE_RACAN,
        "siren": GATINE_RACAN,
    }


# Routes whose parameter is a secret no visitor holds: they cannot lead to a project.
UNREACHABLE = {
    "auth.set_password",
    "transfer.preview",
    "inventory.edit_owner",
    "inventory.remove_owner",
}


def _walk(app: Flask, session: Session, client: FlaskClient, viewer: str, story: Story):
    urls, unfilled = route_urls(app, _route_values(session, story, viewer))
    assert {rule.endpoint for rule in unfilled} <= UNREACHABLE, [r.rule for r in unfilled]
    extra = [
        f"/projets/{story.prospect.id}",
        f"/redirections/{story.declined.id}",
        f"/conventions/{story.agreement.id}",
    ]
    return walk(app, client, urls + extra, SECRETS.values())


@pytest.mark.parametrize("viewer", [LOCHES, PARTNER_EMAIL], ids=["third-epci-referent", "partner"])
def test_nobody_outside_the_project_reads_the_company_anywhere(
    app: Flask,
    session: Session,
    client_for: Callable[[str], FlaskClient],
    story: Story,
    viewer: str,
) -> None:
    email = _email(session, viewer) if viewer == LOCHES else viewer
    result = _walk(app, session, client_for(email), email, story)
    assert result.leaks == []
    # The walk did read the project's pages and the exports (it is not an empty success).
    assert len(result.visited) > 100
    assert any(url.startswith("/projets/") for url in result.visited)


# Chinon declined the project but read it when it was proposed: it stays in the know.
@pytest.mark.parametrize("in_the_know", [GATINE_RACAN, METROPOLE, CHINON, "coordinator"])
def test_the_walk_finds_the_company_where_it_is_known(
    app: Flask,
    session: Session,
    client_for: Callable[[str], FlaskClient],
    story: Story,
    in_the_know: str,
) -> None:
    email = COORDINATOR_EMAIL if in_the_know == "coordinator" else _email(session, in_the_know)
    result = _walk(app, session, client_for(email), email, story)
    found = {secret for _url, secret in result.leaks}
    assert SECRETS["company_name"].lower() in found
    assert SECRETS["contact_email"].lower() in found
