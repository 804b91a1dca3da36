"""A company's identity never reaches members outside its project's EPCIs — anywhere.

The founding story is played through the core, as the pages play it (a Tours Métropole
project proposed to the Val d’Amboise, which declines with a note, then to Gâtine-Racan,
which accepts and settles it on a Polaxis plot; an agreement signed with its PDF): its
messages land in the inboxes and the development outbox. Then a walk reads every page, API
answer and download each kind of member can reach — the administrator's outbox included —
following every link, and looks for the company's name, SIREN, contacts and the words of the
messages and notes. The people in the know must find them (the walk reaches them); the others
never.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from case_helpers import (
    GATINE_RACAN,
    LOCHES,
    METROPOLE,
    POLAXIS,
    POLAXIS_PLOT,
    keep_plots,
    plots_on_sale,
)
from flask import Flask
from flask.testing import FlaskClient
from leak_crawl import route_urls, walk
from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.accounts.users import create_user
from foncier.core import audit
from foncier.core.permissions import Actor, Role
from foncier.models import (
    Agreement,
    AgreementDocument,
    AgreementParty,
    AgreementRedirection,
    Epci,
    Notification,
    Prospect,
    Redirection,
    ShortlistedPlot,
    User,
)
from foncier.prospects.cases import advance_case
from foncier.redirections.proposals import (
    accept_redirection,
    decline_redirection,
    propose_redirection,
)
from seed.accounts import COORDINATOR_EMAIL, PARTNER_EMAIL, referent_email

VAL_D_AMBOISE = "200043065"  # declines the project first (it has plots on sale to be shown)

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


def _referent(session: Session, siren: str) -> Actor:
    return Actor.of(session.scalars(select(User).where(User.email == _email(session, siren))).one())


def _recorded_project(session: Session) -> Prospect:
    prospect = Prospect(
        origin_epci_siren=METROPOLE,
        lead_epci_siren=METROPOLE,
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
        stage="recherche",
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
    session.flush()
    return prospect


def _redirected_and_settled(session: Session, prospect: Prospect) -> tuple[Redirection, ...]:
    """Through the core, as the pages do: declined by the Val d’Amboise with a note, accepted by
    Gâtine-Racan, settled on a Polaxis plot — every message written to inboxes and outbox."""
    metropole, amboise, gatine = (
        _referent(session, s) for s in (METROPOLE, VAL_D_AMBOISE, GATINE_RACAN)
    )
    message = f"Entreprise à accueillir : {SECRETS['message']}"
    amboise_plot = plots_on_sale(session, VAL_D_AMBOISE)[0].terr_id
    keep_plots(session, prospect, [amboise_plot])
    declined = propose_redirection(
        session, metropole, prospect, VAL_D_AMBOISE, [amboise_plot], message
    )
    decline_redirection(
        session, amboise, declined, declined.version, "autre", SECRETS["decline_note"]
    )
    accepted = propose_redirection(
        session, metropole, prospect, GATINE_RACAN, [POLAXIS_PLOT], message
    )
    accept_redirection(session, gatine, accepted, accepted.version)
    for stage, inputs in (
        ("visite", {"note": SECRETS["event_note"]}),
        ("offre", {}),
        ("installe", {"terr_id": POLAXIS_PLOT, "on": date.today(), "jobs_created": 38}),
    ):
        advance_case(session, gatine, prospect, stage, version=prospect.version, **inputs)
    audit.acting_as(session, Actor.system("tests"))
    return declined, accepted


@pytest.fixture
def story(session: Session) -> Story:
    prospect = _recorded_project(session)
    declined, accepted = _redirected_and_settled(session, prospect)
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
    # A message of the story, as the core wrote it (its link is a route the walk follows).
    notification = session.scalars(
        select(Notification)
        .where(Notification.prospect_id == prospect.id)
        .order_by(Notification.id)
    ).first()
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


ADMIN_EMAIL = "admin@confidentialite.test"


def _viewer_email(session: Session, viewer: str) -> str:
    """The account of ``viewer``: a third EPCI's référent, the demo partner, or an
    administrator created here (the demo has none)."""
    if viewer == "admin":
        create_user(
            session, Actor.system("tests"), email=ADMIN_EMAIL, nom="Administratrice",
            role=Role.ADMIN, password="un-mot-de-passe-solide-42",
        )  # fmt: skip
        return ADMIN_EMAIL
    return _email(session, viewer) if viewer == LOCHES else viewer


# The administrator reads the development outbox (/messages): every e-mail of the story.
@pytest.mark.parametrize(
    "viewer", [LOCHES, PARTNER_EMAIL, "admin"], ids=["third-epci-referent", "partner", "admin"]
)
def test_nobody_outside_the_project_reads_the_company_anywhere(
    app: Flask,
    session: Session,
    client_for: Callable[[str], FlaskClient],
    story: Story,
    viewer: str,
) -> None:
    email = _viewer_email(session, viewer)
    result = _walk(app, session, client_for(email), email, story)
    assert result.leaks == []
    # The walk did read the project's pages and the exports (it is not an empty success).
    assert len(result.visited) > 100
    assert any(url.startswith("/projets/") for url in result.visited)
    # Every page a link leads to answers: no server error on the way.
    assert [url for url, status in result.visited.items() if status >= 500] == []
    if viewer == "admin":
        assert result.visited.get("/messages") == 200


def test_the_outbox_the_administrator_reads_holds_the_storys_messages_anonymised(
    session: Session, client_for: Callable[[str], FlaskClient], story: Story
) -> None:
    """The leak walk's /messages is a real check: the story's e-mails are on it."""
    admin = client_for(_viewer_email(session, "admin"))
    page = admin.get("/messages").get_data(as_text=True)
    number = story.prospect.id
    for subject in (
        f"Projet n° {number} proposé à votre EPCI",
        f"Projet n° {number} : proposition refusée",
        f"Projet n° {number} : proposition acceptée",
    ):
        assert subject in page
    lowered = page.lower()
    assert not [secret for secret in SECRETS.values() if secret.lower() in lowered]


# The Val d’Amboise declined the project but read it when it was proposed: it stays in the know.
@pytest.mark.parametrize("in_the_know", [GATINE_RACAN, METROPOLE, VAL_D_AMBOISE, "coordinator"])
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
    assert [url for url, status in result.visited.items() if status >= 500] == []
    assert SECRETS["company_name"].lower() in found
    assert SECRETS["contact_email"].lower() in found
