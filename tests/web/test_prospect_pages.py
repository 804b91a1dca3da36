"""The project pages: recording, reading in clear or as a card, editing with locking, the
matching and the shortlist, and exports that never name a company to whoever may not know it."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from case_helpers import LOCHES, METROPOLE
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_helpers import Page, csrf_token_of, form_of, page_of, post_form

from foncier.core import audit
from foncier.core.permissions import Actor
from foncier.models import CaseEvent, Epci, Prospect, User
from foncier.prospects import projects
from seed.accounts import COORDINATOR_EMAIL, PARTNER_EMAIL, referent_email

SECRETS = {
    "company_name": "Confiserie Bérengère",
    "company_siren": "732829320",
    "contact_email": "b.soulier@confiserie.example",
    "notes": "rencontrée au forum des entrepreneurs",
}


def _form(**changes: str) -> dict[str, str]:
    data = {
        "company_name": SECRETS["company_name"],
        "company_siren": "732 829 320",
        "naf_code": "10.82Z",
        "contact_name": "Bérengère Soulier",
        "contact_role": "Gérante",
        "contact_email": SECRETS["contact_email"],
        "contact_phone": "02 47 12 34 56",
        "contact_retention_until": (date.today() + timedelta(days=365)).isoformat(),
        "source": "agence_regionale",
        "jobs_planned": "35",
        "investment_eur": "2 400 000",
        "notes": SECRETS["notes"],
        "needs-surface_min_ha": "1,5",
        "needs-surface_max_ha": "4",
        "needs-networks_required": "reseau_electrique",
    }
    return {**data, **changes}


@pytest.fixture
def email_of(session: Session) -> Callable[[str], str]:
    return lambda siren: referent_email(session.get(Epci, siren))


@pytest.fixture
def metropole(client_for: Callable[[str], FlaskClient], email_of: Callable[[str], str]):
    return client_for(email_of(METROPOLE))


@pytest.fixture
def loches(client_for: Callable[[str], FlaskClient], email_of: Callable[[str], str]):
    return client_for(email_of(LOCHES))


@pytest.fixture
def recorded(session: Session, email_of: Callable[[str], str]) -> Prospect:
    """A project of the Métropole, recorded by its référent through the core."""
    user = session.scalars(select(User).where(User.email == email_of(METROPOLE))).one()
    actor = Actor.of(user)
    audit.acting_as(session, actor)
    data = {
        **{key: value for key, value in _form().items() if not key.startswith("needs-")},
        "needs": {"surface_min_ha": 1.5, "surface_max_ha": 4, "vocation": "industrielle"},
    }
    prospect = projects.create_prospect(session, actor, data)
    session.flush()
    return prospect


def _create(client: FlaskClient, **changes: str) -> Page:
    return page_of(post_form(client, "/projets/nouveau", _form(**changes)))


def _assert_no_secret(content: str) -> None:
    for secret in SECRETS.values():
        assert secret not in content, secret


def _xlsx_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return " ".join(archive.read(name).decode("utf-8") for name in archive.namelist())


# --- recording --------------------------------------------------------------------------------


def test_a_referent_records_a_project_and_reads_it_in_clear(
    session: Session, metropole: FlaskClient
) -> None:
    form = form_of(metropole, "/projets/nouveau", "formulaire-projet")
    assert form["contact_retention_until"] == projects.retention_limit(date.today()).isoformat()
    assert form["source"] == "direct"
    response = post_form(metropole, "/projets/nouveau", _form())
    assert response.status_code == 302
    prospect_id = int(re.search(r"/projets/(\d+)$", response.location).group(1))
    prospect = session.get(Prospect, prospect_id)
    assert (prospect.company_siren, prospect.lead_epci_siren) == ("732829320", METROPOLE)
    assert prospect.needs == {
        "surface_min_ha": 1.5,
        "surface_max_ha": 4.0,
        "networks_required": ["reseau_electrique"],
        "naf": "10.82Z",
    }
    assert prospect.investment_eur == 2_400_000
    page = page_of(metropole.get(f"/projets/{prospect_id}"))
    assert page.status == 200
    for secret in SECRETS.values():
        assert secret in page.text
    # The path signs each step with the person's name and EPCI (not their login).
    recorder = session.get(User, prospect.created_by)
    assert f"Projet enregistré par {recorder.nom} ({recorder.epci.nom})" in page.text
    assert "Industrie manufacturière" in page.text
    assert "Réseaux indispensables Électricité" in page.text


def test_a_refused_form_keeps_what_was_typed_with_french_messages_beside_the_fields(
    metropole: FlaskClient,
) -> None:
    page = _create(
        metropole,
        company_name="",
        company_siren="732829321",
        contact_retention_until="",
        **{"needs-surface_min_ha": "beaucoup", "needs-surface_max_ha": "4"},
    )
    assert page.status == 400
    assert "Ce champ est obligatoire." in page.text
    assert "clé de Luhn" in page.text
    assert "Indiquez jusqu’à quand garder ces coordonnées" in page.text
    assert "Saisissez une surface positive en hectares" in page.text
    assert 'value="732829321"' in page.html
    assert 'value="beaucoup"' in page.html
    assert SECRETS["notes"] in page.html  # the textarea kept too


def test_needs_refused_by_the_engine_are_shown_as_the_search_shows_them(
    metropole: FlaskClient,
) -> None:
    page = _create(metropole, **{"needs-surface_min_ha": "5", "needs-surface_max_ha": "2"})
    assert page.status == 400
    assert "La surface maximale doit être au moins égale à la surface minimale." in page.text


@pytest.mark.parametrize("email", [PARTNER_EMAIL, COORDINATOR_EMAIL])
def test_only_referents_record_projects(
    client_for: Callable[[str], FlaskClient], email: str
) -> None:
    client = client_for(email)
    page = page_of(client.get("/projets/nouveau"))
    assert page.status == 403
    assert "Seuls les référents d’un EPCI enregistrent les projets" in page.text
    assert "nouveau-projet" not in client.get("/projets").get_data(as_text=True)


# --- confidentiality --------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", ["loches", "partner"])
def test_outside_the_project_only_the_card_is_read_pages_and_exports_alike(
    request: pytest.FixtureRequest,
    recorded: Prospect,
    loches: FlaskClient,
    client: FlaskClient,
    viewer: str,
) -> None:
    reader = loches if viewer == "loches" else client
    listing = page_of(reader.get(f"/projets?epci={METROPOLE}"))
    assert listing.status == 200
    assert str(recorded.id) in listing.values("data-prospect-id")
    assert f"Projet n° {recorded.id}" in listing.text
    project = page_of(reader.get(f"/projets/{recorded.id}"))
    assert project.status == 200
    assert "Secteur Industrie manufacturière" in project.text
    assert "de 1,5 à 4" in project.text
    csv_bytes = reader.get(f"/projets/export.csv?epci={METROPOLE}").get_data()
    xlsx = reader.get(f"/projets/export.xlsx?epci={METROPOLE}")
    assert xlsx.status_code == 200
    assert "(confidentiel)" in csv_bytes.decode("utf-8")
    for content in (listing.html, project.html, csv_bytes.decode("utf-8"), _xlsx_text(xlsx.data)):
        _assert_no_secret(content)
    assert "Industrie manufacturière" in _xlsx_text(xlsx.data)


@pytest.mark.parametrize(
    ("url", "method"),
    [
        ("/projets/{id}/modifier", "get"),
        ("/projets/{id}/modifier", "post"),
        ("/projets/{id}/terrains", "get"),
        ("/projets/{id}/selection", "post"),
        ("/projets/{id}/selection/37167_TERRAIN-ECO_05001/retirer", "post"),
        ("/projets/{id}/selection/37167_TERRAIN-ECO_05001/proposition", "post"),
    ],
)
def test_changes_by_anyone_but_the_lead_are_refused(
    recorded: Prospect,
    loches: FlaskClient,
    client_for: Callable[[str], FlaskClient],
    url: str,
    method: str,
) -> None:
    for reader in (loches, client_for(COORDINATOR_EMAIL)):
        target = url.format(id=recorded.id)
        if method == "get":
            page = page_of(reader.get(target))
        else:
            token = csrf_token_of(reader, "/projets")
            page = page_of(reader.post(target, data={"csrf_token": token, "terr_id": "x"}))
        assert page.status == 403, target
        assert "EPCI qui suit le projet" in page.text
        _assert_no_secret(page.html)


def test_the_coordinator_reads_the_company_but_cannot_change_it(
    recorded: Prospect, client_for: Callable[[str], FlaskClient]
) -> None:
    coordinator = client_for(COORDINATOR_EMAIL)
    page = page_of(coordinator.get(f"/projets/{recorded.id}"))
    assert SECRETS["contact_email"] in page.text
    assert "modifier-projet" not in page.html and "rechercher-terrains" not in page.html
    listing = page_of(coordinator.get(f"/projets?epci={METROPOLE}"))
    assert SECRETS["company_name"] in listing.text
    csv_text = coordinator.get(f"/projets/export.csv?epci={METROPOLE}").get_data(as_text=True)
    assert SECRETS["company_name"] in csv_text


def test_an_unknown_project_is_not_found(loches: FlaskClient) -> None:
    assert loches.get("/projets/987654").status_code == 404


# --- the list ---------------------------------------------------------------------------------


def test_the_list_filters_and_says_when_nothing_matches(
    recorded: Prospect, metropole: FlaskClient, loches: FlaskClient
) -> None:
    mine = page_of(metropole.get("/projets?mes_projets=y"))
    assert str(recorded.id) in mine.values("data-prospect-id")
    assert mine.values("data-anonyme")[0] == "non"
    theirs = page_of(loches.get("/projets?mes_projets=y&etape=installe"))
    assert theirs.values("data-prospect-id") == []
    assert "Aucun projet ne correspond à ces filtres." in theirs.text
    refused = page_of(loches.get("/projets?tri=nom"))
    assert refused.status == 400
    assert "Trier par" in refused.element_text("filtres-projets") or "Trier par" in refused.text


# --- editing ----------------------------------------------------------------------------------


def test_the_lead_edits_and_a_late_save_is_refused_with_its_values_kept(
    recorded: Prospect, metropole: FlaskClient, session: Session
) -> None:
    url = f"/projets/{recorded.id}/modifier"
    loaded = form_of(metropole, url, "formulaire-projet")
    assert loaded["company_name"] == SECRETS["company_name"]
    assert loaded["needs-surface_min_ha"] == "1,5"
    assert loaded["needs-vocation"] == "industrielle"
    assert loaded["version"] == "1"
    first = metropole.post(url, data={**loaded, "jobs_planned": "50"})
    assert first.status_code == 302
    session.refresh(recorded)
    assert recorded.jobs_planned == 50 and recorded.version == 2
    late = page_of(metropole.post(url, data={**loaded, "jobs_planned": "80"}))
    assert late.status == 409
    assert "pendant que vous le modifiiez" in late.text
    assert 'value="80"' in late.html and 'name="version" type="hidden" value="2"' in late.html
    session.refresh(recorded)
    assert (recorded.jobs_planned, recorded.version) == (50, 2)


# --- matching and shortlist -------------------------------------------------------------------


def test_matching_shortlist_and_proposal_from_the_project_page(
    recorded: Prospect, metropole: FlaskClient, session: Session
) -> None:
    project_url = f"/projets/{recorded.id}"
    ranked = page_of(metropole.get(f"{project_url}/terrains"))
    assert ranked.status == 200
    terr_ids = ranked.values("data-terr-id")
    assert len(terr_ids) > 1
    first = terr_ids[0]
    kept = post_form(
        metropole, f"{project_url}/selection", {"terr_id": first}, f"{project_url}/terrains"
    )
    assert kept.status_code == 302
    shortlisted = recorded.shortlist[0]
    assert shortlisted.terr_id == first and shortlisted.score is not None
    again = page_of(metropole.get(f"{project_url}/terrains"))
    assert "Retenu pour le projet" in again.text

    page = page_of(metropole.get(project_url))
    assert first in page.values("data-terr-id")
    prefix = f"proposition-{shortlisted.id}"
    proposal = form_of(metropole, project_url, f"proposition-{first}")
    late = (date.today() + timedelta(days=3)).isoformat()
    refused = page_of(
        metropole.post(
            f"{project_url}/selection/{first}/proposition",
            data={**proposal, f"{prefix}-proposed_on": late},
        )
    )
    assert refused.status == 400
    assert "La date de la proposition ne peut pas être à venir." in refused.text
    assert f'value="{late}"' in refused.html
    answered = metropole.post(
        f"{project_url}/selection/{first}/proposition",
        data={
            **proposal,
            f"{prefix}-proposed_on": date.today().isoformat(),
            f"{prefix}-company_answer": "interessee",
            f"{prefix}-answer_note": "veut visiter",
        },
    )
    assert answered.status_code == 302
    page = page_of(metropole.get(project_url))
    assert "Proposé à l’entreprise le" in page.element_text(f"selection-{first}") or (
        "Proposé à l’entreprise le" in page.text
    )
    kinds = session.scalars(
        select(CaseEvent.kind).where(CaseEvent.prospect_id == recorded.id).order_by(CaseEvent.id)
    ).all()
    assert kinds == ["created", "shortlisted", "proposed_to_company", "answer"]
    assert "Réponse de l’entreprise" in page.element_text("parcours") or (
        "Réponse de l’entreprise" in page.text
    )

    removed = post_form(
        metropole, f"{project_url}/selection/{first}/retirer", form_page=project_url
    )
    assert removed.status_code == 302
    session.refresh(recorded)
    assert recorded.shortlist == []


def test_the_project_s_results_read_like_the_search_and_keep_brings_back_to_them(
    recorded: Prospect, metropole: FlaskClient, session: Session
) -> None:
    results_url = f"/projets/{recorded.id}/terrains"
    ranked = page_of(metropole.get(results_url))
    first = ranked.values("data-terr-id")[0]
    item = re.search(rf'<li class="resultat" id="terrain-{first}".*?</li>', ranked.html, re.S)
    assert item, "the result is its own anchor"
    facts = Page(200, item.group(0)).text
    # Its park and EPCI, surface and price, and the search page's score format (« 0,94 »).
    assert "Parc " in facts and "Surface : " in facts and "Prix : " in facts
    assert re.search(r"\b[01],\d\d\b", facts)
    kept = post_form(
        metropole, f"/projets/{recorded.id}/selection", {"terr_id": first, "retour": "resultats"},
        results_url,
    )  # fmt: skip
    assert kept.status_code == 302
    assert kept.location == f"{results_url}#terrain-{first}"
    back = page_of(metropole.get(results_url))
    assert "Retenu pour le projet" in back.text and "retenu pour le projet" in back.text
    project = page_of(metropole.get(f"/projets/{recorded.id}")).html
    line = re.search(rf'id="selection-{first}".*?</li>', project, re.S)
    score = Page(200, line.group(0)).text
    assert re.search(r"score [01],\d\d\b", score) and "/ 100" not in score


def test_the_project_opens_the_search_with_the_same_needs(
    recorded: Prospect, metropole: FlaskClient
) -> None:
    page = page_of(metropole.get(f"/projets/{recorded.id}"))
    link = re.search(r'id="ouvrir-recherche" href="([^"]+)"|href="([^"]+)" id="ouvrir-recherche"',
                     page.html)  # fmt: skip
    assert link
    href = (link.group(1) or link.group(2)).replace("&amp;", "&")
    assert "label" not in href and "Confiserie" not in href
    search = page_of(metropole.get(href))
    assert search.status == 200
    ranked = page_of(metropole.get(f"/projets/{recorded.id}/terrains"))
    assert search.values("data-terr-id")[:5] == ranked.values("data-terr-id")[:5]


def test_a_settled_project_keeps_its_selection_as_it_was(
    recorded: Prospect, metropole: FlaskClient, session: Session
) -> None:
    project_url = f"/projets/{recorded.id}"
    first, second = page_of(metropole.get(f"{project_url}/terrains")).values("data-terr-id")[:2]
    post_form(metropole, f"{project_url}/selection", {"terr_id": first}, f"{project_url}/terrains")
    # Settled on the kept plot (the stage machine's own tests cover the move itself).
    recorded.stage, recorded.terr_id, recorded.installed_on = "installe", first, date(2026, 9, 1)
    recorded.jobs_created = 12
    session.flush()
    page = page_of(metropole.get(project_url))
    assert "L’entreprise s’est installée sur ce terrain le 1er septembre 2026." in page.text
    assert "Retirer de la sélection" not in page.text
    assert "Rechercher des terrains" not in page.text
    assert "Garder" not in page_of(metropole.get(f"{project_url}/terrains")).text
    kept = post_form(metropole, f"{project_url}/selection", {"terr_id": second}, project_url)
    assert kept.status_code == 302
    removed = post_form(
        metropole, f"{project_url}/selection/{first}/retirer", form_page=project_url
    )
    assert removed.status_code == 302
    session.refresh(recorded)
    assert [plot.terr_id for plot in recorded.shortlist] == [first]
    refusal = page_of(metropole.get(project_url)).text
    assert "Le projet est clos (installé) : sa sélection de terrains ne change plus." in refusal


def test_a_proposal_on_a_closed_project_says_why_it_was_not_recorded(
    recorded: Prospect, metropole: FlaskClient, session: Session
) -> None:
    """The core refuses it without naming a field of the proposal form: the page says so,
    and never « enregistrée »."""
    project_url = f"/projets/{recorded.id}"
    first = page_of(metropole.get(f"{project_url}/terrains")).values("data-terr-id")[0]
    post_form(metropole, f"{project_url}/selection", {"terr_id": first}, f"{project_url}/terrains")
    plot = recorded.shortlist[0]
    recorded.stage, recorded.lost_reason = "perdu", "Projet abandonné par l’entreprise"
    session.flush()
    prefix = f"proposition-{plot.id}"
    sent = post_form(
        metropole,
        f"{project_url}/selection/{first}/proposition",
        {f"{prefix}-proposed_on": date.today().isoformat(), f"{prefix}-company_answer": "refuse"},
        form_page=project_url,
    )
    assert sent.status_code == 302
    shown = page_of(metropole.get(project_url))
    assert "Le projet est clos (perdu) : sa sélection de terrains ne change plus." in shown.text
    assert "enregistrée" not in shown.text
    session.refresh(plot)
    assert (plot.proposed_on, plot.company_answer) == (None, None)
