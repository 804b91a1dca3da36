"""Redirection pages: the case panel of a project page, proposing, answering, withdrawing,
moving the case, the list of redirections and the inbox — who gets 403, 409 when someone
acted first, forms that keep what was typed, nothing saved when the mail server fails."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from case_helpers import (
    COMPANY,
    GATINE_RACAN,
    METROPOLE,
    delivered_once_when_back,
    keep_plots,
    new_prospect,
    newest_message_id,
    plots_on_sale,
    referent_of,
    smtp_on,
    third_epci,
    unreachable_smtp,
    user_of,
    waiting,
)
from smtp_server import SmtpServer, running_smtp_server
from sqlalchemy import event, func, select
from web_helpers import Page, form_values, page_of, post_form

from foncier.agreements import terms as agreements_terms
from foncier.core.french import epci_sort_key
from foncier.inventory.editing import SOLD
from foncier.messaging.notifications import PER_PAGE
from foncier.models import (
    CaseEvent,
    Epci,
    Notification,
    OutboxMessage,
    Prospect,
    Redirection,
    ShortlistedPlot,
    Terrain,
)
from foncier.prospects.cases import OCCUPIED, RESERVED
from foncier.redirections.proposals import (
    accept_redirection,
    decline_redirection,
    propose_redirection,
)
from foncier.territory.epcis import list_epcis
from foncier.web import database as web_database
from foncier.web.redirections import views as redirection_views
from seed.accounts import COORDINATOR_EMAIL, referent_email

METROPOLE_EMAIL = "referent.tours-metropole-val-de-loire@demo.foncier.test"
GATINE_EMAIL = "referent.gatine-racan@demo.foncier.test"
MESSAGE = "Rien de 2 ha chez nous ; Polaxis convient."


@pytest.fixture
def metropole(client_for):
    return client_for(METROPOLE_EMAIL)


@pytest.fixture
def gatine(client_for):
    return client_for(GATINE_EMAIL)


@pytest.fixture
def third(session, client_for):
    return client_for(referent_email(session.get(Epci, third_epci(session))))


@pytest.fixture
def project(session) -> Prospect:
    """A Métropole project with two Polaxis plots and one Métropole plot shortlisted."""
    prospect = new_prospect(session, stage="recherche")
    kept = [*plots_on_sale(session, GATINE_RACAN, 2), *plots_on_sale(session, METROPOLE, 1)]
    session.add_all(ShortlistedPlot(prospect_id=prospect.id, terr_id=p.terr_id) for p in kept)
    session.flush()
    return prospect


def polaxis_plots(session) -> list[str]:
    return [p.terr_id for p in plots_on_sale(session, GATINE_RACAN, 2)]


def propose_through_the_page(client, session, project, **changes):
    page = client.get(f"/projets/{project.id}").get_data(as_text=True)
    values = form_values(page, "formulaire-redirection")
    values |= {
        "redirection-to_epci_siren": GATINE_RACAN,
        "redirection-message": MESSAGE,
        "redirection-terr_ids": polaxis_plots(session),
    }
    values |= changes
    return client.post(f"/projets/{project.id}/rediriger", data=values)


def proposed(session, project) -> Redirection:
    keep_plots(session, project, polaxis_plots(session))
    return propose_redirection(
        session,
        referent_of(session, METROPOLE),
        project,
        GATINE_RACAN,
        polaxis_plots(session),
        MESSAGE,
    )


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


# --- the panel on the project page -----------------------------------------------------------


def test_the_lead_sees_the_moves_allowed_now_and_the_proposal_form(session, metropole, project):
    page = page_of(metropole.get(f"/projets/{project.id}"))
    assert page.status == 200
    assert page.element_text("etape-actuelle") == "En recherche"
    moves = re.findall(r'<form [^>]*id="etape-([a-z]+)"', page.html)
    assert moves == ["visite", "offre", "perdu"]
    proposal = form_values(page.html, "formulaire-redirection")
    assert "redirection-message" in proposal
    targets = re.findall(r'<option value="(\d{9})"', page.html)
    assert GATINE_RACAN in targets and METROPOLE not in targets
    # Only the shortlisted plots of other EPCIs are offered.
    offered = re.findall(r'name="redirection-terr_ids"[^>]*value="([^"]+)"', page.html)
    assert sorted(offered) == sorted(polaxis_plots(session))


def test_people_who_do_not_lead_see_no_forms(session, gatine, client, project):
    for other in (gatine, client):
        page = page_of(other.get(f"/projets/{project.id}"))
        assert page.status == 200
        assert 'id="formulaire-redirection"' not in page.html
        assert 'id="etape-visite"' not in page.html


# --- proposing -------------------------------------------------------------------------------


def test_proposing_through_the_page_tells_the_target_and_shows_in_its_inbox(
    session, metropole, gatine, project
):
    response = propose_through_the_page(metropole, session, project)
    assert response.status_code == 302 and response.location == f"/projets/{project.id}"
    redirection = session.scalars(
        select(Redirection).where(Redirection.prospect_id == project.id)
    ).one()
    assert sorted(p.terr_id for p in redirection.plots) == sorted(polaxis_plots(session))
    followed = page_of(metropole.get(f"/projets/{project.id}"))
    assert "Projet proposé à la Communauté de communes de Gâtine-Racan" in followed.text
    assert 'id="redirection-en-attente"' in followed.html
    assert 'id="etape-visite"' not in followed.html  # the case waits for the answer

    inbox = page_of(gatine.get("/boite"))
    assert f"Projet n° {project.id} proposé à votre EPCI" in inbox.text
    assert COMPANY not in inbox.text  # the inbox's words are those of the e-mail
    assert inbox.values("data-read") == ["non"]
    menu = re.search(r'href="/boite"[^>]*>(.*?)</a>', inbox.html, re.S).group(1)
    assert "1" in menu and "non lu" in menu


def test_a_wrong_proposal_keeps_what_was_typed(session, metropole, project):
    response = propose_through_the_page(
        metropole,
        session,
        project,
        **{"redirection-to_epci_siren": third_epci(session)},
    )
    page = page_of(response)
    assert page.status == 400
    assert "ne sont pas dans" in page.text
    assert MESSAGE in page.html  # the message typed is still there
    kept = re.findall(r'value="([^"]+)"[^>]*checked|checked[^>]*value="([^"]+)"', page.html)
    assert {a or b for a, b in kept} == set(polaxis_plots(session))
    assert count(session, Redirection, Redirection.prospect_id == project.id) == 0


@pytest.mark.parametrize("who", ["gatine", "client", "coordinator"])
def test_only_the_lead_proposes(request, session, client_for, project, who):
    other = client_for(COORDINATOR_EMAIL) if who == "coordinator" else request.getfixturevalue(who)
    response = post_form(
        other,
        f"/projets/{project.id}/rediriger",
        {"redirection-to_epci_siren": GATINE_RACAN, "redirection-message": MESSAGE},
        form_page="/boite",
    )
    assert response.status_code == 403
    assert "Seuls les référents de l’EPCI qui suit le projet" in page_of(response).text
    assert count(session, Redirection, Redirection.prospect_id == project.id) == 0


def test_a_mail_server_that_is_down_does_not_stop_a_proposal(
    app, session_factory, session, metropole, project
):
    """The proposal is saved and the référents told in their inbox; the e-mails, tried right
    after the commit, wait in the outbox until the server is back, then leave once."""
    app.config["MAIL_SETTINGS"] = unreachable_smtp()
    newest = newest_message_id(session)
    response = propose_through_the_page(metropole, session, project)
    assert response.status_code == 302
    assert count(session, Redirection, Redirection.prospect_id == project.id) == 1
    assert count(session, Notification, Notification.prospect_id == project.id) >= 1
    written = select(OutboxMessage.id).where(OutboxMessage.id > newest)
    delivered_once_when_back(session_factory, waiting(session, session.scalars(written).all()))


def test_the_request_sends_its_messages_right_after_its_commit(app, session, metropole, project):
    newest = newest_message_id(session)
    with running_smtp_server(SmtpServer()) as server:
        app.config["MAIL_SETTINGS"] = smtp_on(server.port)
        assert propose_through_the_page(metropole, session, project).status_code == 302
    session.expire_all()
    written = session.scalars(select(OutboxMessage).where(OutboxMessage.id > newest)).all()
    assert written and {(m.status, m.attempts) for m in written} == {("sent", 1)}
    assert sorted(r.recipients[0] for r in server.messages) == sorted(m.recipient for m in written)


def test_a_sender_breaking_after_the_commit_does_not_fail_the_response(
    monkeypatch, caplog, session, metropole, project
):
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database gone after the commit")

    monkeypatch.setattr(web_database, "deliver_now", broken)
    newest = newest_message_id(session)
    assert propose_through_the_page(metropole, session, project).status_code == 302
    assert count(session, Redirection, Redirection.prospect_id == project.id) == 1
    written = session.scalars(select(OutboxMessage).where(OutboxMessage.id > newest)).all()
    assert written and {(m.status, m.attempts) for m in written} == {("pending", 0)}
    assert "delivery after commit failed" in caplog.text  # for the next sender to pick up


def test_a_request_failing_after_its_step_sends_nothing(monkeypatch, session, metropole, project):
    """The step wrote its e-mails, then the request failed: rolled back, nothing is sent."""

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the page after the step fails")

    monkeypatch.setattr(redirection_views, "flash", broken)
    newest = newest_message_id(session)
    with pytest.raises(RuntimeError):
        propose_through_the_page(metropole, session, project)
    assert count(session, Redirection, Redirection.prospect_id == project.id) == 0
    assert count(session, OutboxMessage, OutboxMessage.id > newest) == 0


# --- the proposal as its receiver reads it ---------------------------------------------------


def test_the_receiver_reads_the_company_the_message_and_the_plots(session, gatine, project):
    redirection = proposed(session, project)
    page = page_of(gatine.get(f"/redirections/{redirection.id}"))
    assert page.status == 200
    assert page.element_text("entreprise") == COMPANY
    assert page.element_text("message") == MESSAGE
    for terr_id in polaxis_plots(session):
        assert f'href="/terrains/{terr_id}"' in page.html
    assert 'id="formulaire-accepter"' in page.html and 'id="formulaire-refuser"' in page.html
    reasons = re.findall(r'<option value="([a-z_]+)"', page.html)
    assert "pas_de_terrain" in reasons and "autre" in reasons


@pytest.mark.parametrize(("who", "status"), [("third", 403), ("client", 403), ("coordinator", 200)])
def test_only_those_in_the_know_read_a_proposal(request, session, client_for, project, who, status):
    redirection = proposed(session, project)
    other = client_for(COORDINATOR_EMAIL) if who == "coordinator" else request.getfixturevalue(who)
    page = page_of(other.get(f"/redirections/{redirection.id}"))
    assert page.status == status
    assert (COMPANY in page.text) is (status == 200)
    assert 'id="formulaire-accepter"' not in page.html


def answer(client, redirection, action: str, **values):
    page = client.get(f"/redirections/{redirection.id}").get_data(as_text=True)
    data = form_values(page, f"formulaire-{action}") | values
    return client.post(f"/redirections/{redirection.id}/{action}", data=data)


def test_accepting_hands_over_the_lead_and_a_second_accept_gets_409(
    session, gatine, metropole, client_for, project
):
    redirection = proposed(session, project)
    page = gatine.get(f"/redirections/{redirection.id}").get_data(as_text=True)
    form = form_values(page, "formulaire-accepter")

    response = gatine.post(f"/redirections/{redirection.id}/accepter", data=form)
    assert response.status_code == 302 and response.location == f"/projets/{project.id}"
    session.expire_all()
    assert project.lead_epci_siren == GATINE_RACAN
    assert f"Projet n° {project.id} : proposition acceptée" in page_of(metropole.get("/boite")).text

    again = page_of(gatine.post(f"/redirections/{redirection.id}/accepter", data=form))
    assert again.status == 409
    assert "Cette proposition a déjà reçu une suite (elle est acceptée)" in again.text
    assert count(session, CaseEvent, CaseEvent.kind == "redirection_accepted") == 1


def test_declining_needs_a_note_for_other_and_keeps_it(session, gatine, project):
    redirection = proposed(session, project)
    refused = page_of(answer(gatine, redirection, "refuser", **{"refuser-reason": "autre"}))
    assert refused.status == 400 and "Précisez le motif du refus" in refused.text
    assert re.search(r'<option selected value="autre"|<option value="autre" selected', refused.html)

    done = answer(
        gatine,
        redirection,
        "refuser",
        **{"refuser-reason": "autre", "refuser-note": "Parc réservé à la logistique"},
    )
    assert done.status_code == 302
    page = page_of(gatine.get(f"/redirections/{redirection.id}"))
    assert page.values("data-status") == ["declinee"]
    assert "autre raison (précisez) : Parc réservé à la logistique" in page.text
    assert 'id="formulaire-accepter"' not in page.html


@pytest.mark.parametrize(
    ("who", "action"), [("metropole", "accepter"), ("metropole", "refuser"), ("gatine", "retirer")]
)
def test_the_wrong_side_gets_403(request, session, project, who, action):
    """Even a decline sent without its reason: who answers is checked first."""
    redirection = proposed(session, project)
    response = post_form(
        request.getfixturevalue(who),
        f"/redirections/{redirection.id}/{action}",
        {f"{action}-version": str(redirection.version)},
        form_page=f"/redirections/{redirection.id}",
    )
    assert response.status_code == 403
    session.expire_all()
    assert redirection.status == "proposee"


def test_the_proposer_withdraws(session, metropole, gatine, project):
    redirection = proposed(session, project)
    assert answer(metropole, redirection, "retirer").status_code == 302
    session.expire_all()
    assert redirection.status == "retiree"
    assert f"Projet n° {project.id} : proposition retirée" in page_of(gatine.get("/boite")).text


# --- moving the case -------------------------------------------------------------------------


def move(client, project, stage: str, **values):
    page = client.get(f"/projets/{project.id}").get_data(as_text=True)
    data = form_values(page, f"etape-{stage}") | {f"{stage}-{k}": v for k, v in values.items()}
    return client.post(f"/projets/{project.id}/etape", data=data)


def test_an_option_through_the_page_reserves_the_plot(session, metropole, project):
    plot = plots_on_sale(session, METROPOLE)[0]
    assert move(metropole, project, "offre").status_code == 302
    response = move(metropole, project, "option", terr_id=plot.terr_id)
    assert response.status_code == 302
    session.expire_all()
    assert project.stage == "option"
    assert session.get(Terrain, plot.terr_id).terr_stade_comm == RESERVED
    page = page_of(metropole.get(f"/projets/{project.id}"))
    assert page.element_text("etape-actuelle") == "Option ou compromis"
    assert re.findall(r'<form [^>]*id="etape-([a-z]+)"', page.html) == [
        "recherche",
        "installe",
        "perdu",
    ]


def test_an_installation_without_its_date_keeps_what_was_typed(session, metropole, project):
    move(metropole, project, "offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    page = page_of(move(metropole, project, "installe", terr_id=plot.terr_id, jobs_created="27"))
    assert page.status == 400
    assert "Indiquez la date d’installation" in page.text
    assert 'value="27"' in page.html
    assert re.search(rf'<option selected value="{plot.terr_id}"', page.html)
    late = date.today() + timedelta(days=3)
    future = page_of(
        move(metropole, project, "installe", terr_id=plot.terr_id, on=late.isoformat(),
             jobs_created="27")
    )  # fmt: skip
    assert future.status == 400 and "ne peut pas être dans le futur" in future.text


def test_a_move_from_a_stale_page_gets_409(session, metropole, project):
    page = metropole.get(f"/projets/{project.id}").get_data(as_text=True)
    stale = form_values(page, "etape-visite")
    assert move(metropole, project, "offre").status_code == 302
    response = page_of(metropole.post(f"/projets/{project.id}/etape", data=stale))
    assert response.status == 409
    assert "Quelqu’un a fait avancer ou modifié ce projet" in response.text
    session.expire_all()
    assert project.stage == "offre"


def test_a_move_posted_without_its_version_is_refused(session, metropole, project):
    """Without the version it was read at, a move cannot be checked against a newer one."""
    page = metropole.get(f"/projets/{project.id}").get_data(as_text=True)
    data = form_values(page, "etape-visite")
    del data["visite-version"]
    version = project.version
    response = page_of(metropole.post(f"/projets/{project.id}/etape", data=data))
    assert response.status == 400
    assert "ne dit pas quelle version du projet vous avez lue" in response.text
    session.expire_all()
    assert (project.stage, project.version) == ("recherche", version)
    assert count(session, CaseEvent, CaseEvent.prospect_id == project.id) == 0


@pytest.mark.parametrize("who", ["gatine", "client"])
def test_only_the_lead_moves_the_case(request, session, project, who):
    response = post_form(
        request.getfixturevalue(who),
        f"/projets/{project.id}/etape",
        {"etape": "visite", "visite-version": str(project.version)},
        form_page="/boite",
    )
    assert response.status_code == 403
    session.expire_all()
    assert project.stage == "recherche"


# --- lists -------------------------------------------------------------------------------------


def test_every_member_sees_the_network_s_redirections_the_company_only_if_in_the_know(
    session, metropole, third, client, project
):
    redirection = proposed(session, project)
    mine = page_of(metropole.get("/redirections"))
    assert COMPANY in mine.text
    assert _line_of(mine, redirection) == ("envoyee", "non")
    for outsider in (client, third):  # the partner, a third EPCI's référent
        network = page_of(outsider.get("/redirections"))
        assert COMPANY not in network.text
        assert f"Projet confidentiel n° {project.id}" in network.text
        assert _line_of(network, redirection) == ("reseau", "oui")
        assert f'href="/projets/{project.id}"' in network.html  # its anonymised card


def _line_of(page, redirection) -> tuple[str, str]:
    """The direction and the anonymity of the list's line of ``redirection``."""
    match = re.search(
        rf'data-redirection-id="{redirection.id}" data-direction="(\w+)" data-anonyme="(\w+)"',
        page.html,
    )
    assert match, f"no line for redirection {redirection.id}"
    return match.group(1), match.group(2)


def test_a_referent_narrows_the_list_to_what_their_epci_sent_or_received(
    session, metropole, gatine, third, project
):
    redirection = proposed(session, project)
    ids = str(redirection.id)
    assert ids in page_of(metropole.get("/redirections?sens=envoyees")).values(
        "data-redirection-id"
    )
    assert ids not in page_of(metropole.get("/redirections?sens=recues")).values(
        "data-redirection-id"
    )
    assert ids in page_of(gatine.get("/redirections?sens=recues")).values("data-redirection-id")
    sent_by_third = page_of(third.get("/redirections?sens=envoyees"))
    assert ids not in sent_by_third.values("data-redirection-id")
    assert "Votre EPCI n’a encore proposé aucun projet" in sent_by_third.text
    assert metropole.get("/redirections?sens=ailleurs").status_code == 400


def test_the_inbox_newest_first_unread_in_bold_read_on_open(session, gatine, project):
    me = user_of(session, GATINE_EMAIL)
    session.add_all(
        Notification(user_id=me.id, subject=f"Ancien message {i}", body="…", link=None)
        for i in range(PER_PAGE)
    )
    session.flush()
    proposed(session, project)
    first = page_of(gatine.get("/boite"))
    assert first.status == 200
    assert f"{PER_PAGE + 1} messages, dont {PER_PAGE + 1} non lus" in first.text
    assert f"<strong>Projet n° {project.id} proposé à votre EPCI" in first.html
    # ui.pagination: « 1 » (the current page), « 2 », « Suivante › »
    pages = ["/boite?page=1", "/boite?page=2", "/boite?page=2"]
    assert [href for href in first.values("href") if "page=" in href] == pages
    second = page_of(gatine.get("/boite?page=2"))
    assert len(second.values("data-notification-id")) == 1
    assert gatine.get("/boite?page=3").status_code == 404

    newest = session.scalars(
        select(Notification)
        .where(Notification.user_id == me.id, Notification.link.is_not(None))
        .order_by(Notification.id.desc())
    ).first()
    opened = post_form(
        gatine, f"/boite/{newest.id}/lu", {"ouvrir": "1", "page": "1"}, form_page="/boite"
    )
    assert opened.status_code == 302 and opened.location == newest.link
    session.expire_all()
    assert newest.read_at is not None
    assert f"dont {PER_PAGE} non lus" in page_of(gatine.get("/boite")).text


def test_someone_elses_message_is_not_found(session, gatine, metropole, project):
    proposed(session, project)
    theirs = session.scalars(
        select(Notification).where(Notification.user_id == user_of(session, GATINE_EMAIL).id)
    ).first()
    response = post_form(metropole, f"/boite/{theirs.id}/lu", form_page="/boite")
    assert response.status_code == 404
    session.expire_all()
    assert theirs.read_at is None


def test_an_empty_inbox_says_so_without_counting_zero(third):
    page = page_of(third.get("/boite"))
    assert page.status == 200
    assert "Aucun message pour l’instant" in page.text
    assert "0 message" not in page.text
    assert page.values("data-notification-id") == []


@pytest.mark.parametrize("who", ["client", "coordinator"])
def test_only_referents_have_an_inbox_in_the_menu(request, session, client_for, third, who):
    """The partner and the coordinator never receive proposals: no menu entry; the page, if
    reached, says who receives them."""
    outsider = (
        client_for(COORDINATOR_EMAIL) if who == "coordinator" else request.getfixturevalue(who)
    )
    page = page_of(outsider.get("/boite"))
    assert 'href="/boite"' not in page.html
    assert "Seuls les référents des EPCI reçoivent des messages ici" in page.text
    assert "0 message" not in page.text
    assert 'href="/boite"' in page_of(third.get("/redirections")).html


def test_an_installed_redirected_project_links_to_recording_its_agreement(
    session, gatine, client_for, project
):
    redirection = proposed(session, project)
    target = referent_of(session, GATINE_RACAN)
    accept_redirection(session, target, redirection, redirection.version)
    session.expire_all()
    assert 'id="accord-' not in gatine.get(f"/projets/{project.id}").get_data(as_text=True)
    plot = plots_on_sale(session, GATINE_RACAN)[0]
    for stage, values in (
        ("offre", {}),
        ("installe", {"terr_id": plot.terr_id, "on": "2025-03-03", "jobs_created": "30"}),
    ):
        assert move(gatine, project, stage, **values).status_code == 302
    page = page_of(gatine.get(f"/projets/{project.id}"))
    assert page.element_text("etape-actuelle") == "Installé"
    link = re.search(rf'href="([^"]+)" id="accord-{redirection.id}"', page.html).group(1)
    assert link.endswith(f"redirection={redirection.id}")
    assert gatine.get(link.replace("&amp;", "&")).status_code == 200
    # The button names the other party, seen from each side.
    metropole_name, gatine_name = (session.get(Epci, s).nom for s in (METROPOLE, GATINE_RACAN))
    assert page.element_text(f"accord-{redirection.id}") == (
        f"Enregistrer l’accord de partage avec {metropole_name}"
    )
    proposer = page_of(client_for(METROPOLE_EMAIL).get(f"/projets/{project.id}"))
    assert proposer.element_text(f"accord-{redirection.id}") == (
        f"Enregistrer l’accord de partage avec la {gatine_name}"
    )


# --- the case's path -------------------------------------------------------------------------


def test_the_project_page_tells_the_redirection_and_the_moves_in_french(
    session, metropole, gatine, project
):
    assert propose_through_the_page(metropole, session, project).status_code == 302
    redirection = session.scalars(
        select(Redirection).where(Redirection.prospect_id == project.id)
    ).one()
    assert answer(gatine, redirection, "accepter").status_code == 302
    assert move(gatine, project, "visite").status_code == 302

    gatine_name = session.get(Epci, GATINE_RACAN).nom
    path = path_text(gatine.get(f"/projets/{project.id}"))
    plots = ", ".join(sorted(polaxis_plots(session)))
    assert f"Projet proposé à la {gatine_name} (terrains {plots})" in path
    assert f"Proposition acceptée par la {gatine_name}, qui suit désormais le projet" in path
    assert "Étape : En recherche → Visite" in path
    # No step shows its stored kind instead of its sentence.
    for kind in ("redirection_proposed", "redirection_accepted", "stage_changed", "Stage changed"):
        assert kind not in path
    # The redirection's own page tells the same path in the same words.
    assert path_text(gatine.get(f"/redirections/{redirection.id}")) == path


def path_text(response) -> str:
    """The words of the page's « Parcours du projet » list, tags left out."""
    found = re.search(
        r'<ol class="parcours" id="parcours">(.*?)</ol>', page_of(response).html, re.S
    )
    assert found, "no case path on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def test_the_path_names_the_person_and_their_epci_not_their_login(session, metropole, project):
    proposed(session, project)
    person = user_of(session, METROPOLE_EMAIL)
    path = path_text(metropole.get(f"/projets/{project.id}"))
    assert f"par {person.nom} ({session.get(Epci, METROPOLE).nom})" in path
    assert METROPOLE_EMAIL not in path


# --- the first moves -------------------------------------------------------------------------


def move_buttons(page) -> list[str]:
    return [
        html.unescape(text)
        for text in re.findall(r'<details class="etape-possible">\s*<summary>(.*?)</summary>', page)
    ]


def test_a_new_project_starts_its_search_or_goes_straight_to_a_visit_or_an_offer(
    session, metropole
):
    fresh = new_prospect(session)
    page = metropole.get(f"/projets/{fresh.id}").get_data(as_text=True)
    assert re.findall(r'<form [^>]*id="etape-([a-z]+)"', page) == [
        "recherche",
        "visite",
        "offre",
        "perdu",
    ]
    assert move_buttons(page)[0] == "Commencer la recherche"
    assert move(metropole, fresh, "offre").status_code == 302
    session.expire_all()
    assert fresh.stage == "offre"
    # Later, the search is resumed, not started.
    again = metropole.get(f"/projets/{fresh.id}").get_data(as_text=True)
    assert move_buttons(again)[0] == "Reprendre la recherche"


# --- a target nobody answers for -------------------------------------------------------------


def test_the_proposal_form_offers_only_epcis_with_an_active_referent(session, metropole, project):
    keep_plots(session, project, [plots_on_sale(session, third_epci(session))[0].terr_id])
    user_of(session, GATINE_EMAIL).active = False
    session.flush()
    page = metropole.get(f"/projets/{project.id}").get_data(as_text=True)
    targets = re.findall(r'<option value="(\d{9})"', page)
    assert GATINE_RACAN not in targets and third_epci(session) in targets
    # Posted anyway (a page read before the account was closed): refused, nothing written.
    assert propose_through_the_page(metropole, session, project).status_code == 400
    assert count(session, Redirection, Redirection.prospect_id == project.id) == 0


# --- the list's cost and pages ---------------------------------------------------------------


@pytest.fixture
def statements(connection):
    """The SQL statements the application sends, counted (reset it before a request)."""
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731 (conn, cursor, statement, ...)
    event.listen(connection, "before_cursor_execute", listener)
    yield sent
    event.remove(connection, "before_cursor_execute", listener)


def new_proposals(session, count_: int) -> list[Redirection]:
    return [proposed(session, new_prospect(session, stage="recherche")) for _ in range(count_)]


def test_the_list_costs_the_same_queries_for_few_or_many_lines(session, client_for, statements):
    coordinator = client_for(COORDINATOR_EMAIL)
    new_proposals(session, 1)
    statements.clear()
    few = page_of(coordinator.get("/redirections"))
    few_queries = len(statements)
    assert few_queries > 0  # the listener sees the application's statements
    new_proposals(session, 10)
    statements.clear()
    many = page_of(coordinator.get("/redirections"))
    assert len(many.values("data-redirection-id")) == len(few.values("data-redirection-id")) + 10
    assert many.text.count(COMPANY) == few.text.count(COMPANY) + 10
    assert len(statements) == few_queries


def test_the_list_comes_a_page_at_a_time(session, client_for, monkeypatch):
    monkeypatch.setattr("foncier.redirections.proposals.PER_PAGE", 3)
    coordinator = client_for(COORDINATOR_EMAIL)
    made = new_proposals(session, 4)
    first = page_of(coordinator.get("/redirections"))
    assert first.values("data-redirection-id") == [str(r.id) for r in reversed(made)][:3]
    assert 'href="/redirections?page=2"' in first.html
    second = page_of(coordinator.get("/redirections?page=2"))
    assert second.values("data-redirection-id")[0] == str(made[0].id)
    assert coordinator.get("/redirections?page=999").status_code == 404
    assert coordinator.get("/redirections?page=deux").status_code == 400


def _installed_on_polaxis(session, gatine, project) -> tuple[Redirection, Terrain]:
    """The founding story up to the installation: proposed, accepted, installed on Polaxis."""
    redirection = proposed(session, project)
    accept_redirection(
        session, referent_of(session, GATINE_RACAN), redirection, redirection.version
    )
    session.expire_all()
    plot = plots_on_sale(session, GATINE_RACAN)[0]
    for stage, values in (
        ("offre", {}),
        ("installe", {"terr_id": plot.terr_id, "on": "2025-03-03", "jobs_created": "1"}),
    ):
        assert move(gatine, project, stage, **values).status_code == 302
    return redirection, plot


def test_once_an_agreement_covers_the_redirection_the_project_links_to_it(session, gatine, project):
    redirection, _plot = _installed_on_polaxis(session, gatine, project)
    target = referent_of(session, GATINE_RACAN)
    terms = agreements_terms.terms_for_redirection(session, target, redirection.id)
    agreement = agreements_terms.create_agreement(session, target, terms)
    page = page_of(gatine.get(f"/projets/{project.id}"))
    covered = re.search(rf'<p id="accord-{redirection.id}">.*?</p>', page.html, re.S)
    assert covered, "the covering agreement is named instead of the button"
    assert f'href="/conventions/{agreement.id}"' in covered.group(0)
    metropole_name = session.get(Epci, METROPOLE).nom
    assert " ".join(Page(200, covered.group(0)).text.split()) == (
        f"Accord de partage avec {metropole_name} : Convention n° {agreement.id} (brouillon)"
    )
    assert "Enregistrer l’accord de partage" not in page.text


def test_only_who_may_write_the_agreement_sees_its_button(
    session, gatine, third, client_for, project
):
    """An EPCI that declined the project earlier is in the know, but no party: no button to a
    form that would refuse it (403); the link to the agreement, once there, it sees."""
    third_siren = third_epci(session)
    elsewhere = plots_on_sale(session, third_siren)[0].terr_id
    keep_plots(session, project, [elsewhere])
    first = propose_redirection(
        session, referent_of(session, METROPOLE), project, third_siren, [elsewhere], MESSAGE
    )
    decline_redirection(session, referent_of(session, third_siren), first, first.version,
                        "delai", None)  # fmt: skip
    session.expire_all()
    redirection, _plot = _installed_on_polaxis(session, gatine, project)
    decliner = page_of(third.get(f"/projets/{project.id}"))
    assert decliner.status == 200 and 'id="parcours"' in decliner.html  # in the know
    assert f'id="accord-{redirection.id}"' not in decliner.html
    assert "Enregistrer l’accord de partage" not in decliner.text
    assert third.get(f"/conventions/nouvelle?redirection={redirection.id}").status_code == 403
    # The coordinateur may write it: the button names both EPCIs.
    coordinator = page_of(client_for(COORDINATOR_EMAIL).get(f"/projets/{project.id}"))
    metropole_name, gatine_name = (session.get(Epci, s).nom for s in (METROPOLE, GATINE_RACAN))
    assert coordinator.element_text(f"accord-{redirection.id}") == (
        f"Enregistrer l’accord de partage entre {metropole_name} et la {gatine_name}"
    )
    target = referent_of(session, GATINE_RACAN)
    terms = agreements_terms.terms_for_redirection(session, target, redirection.id)
    agreement = agreements_terms.create_agreement(session, target, terms)
    decliner = page_of(third.get(f"/projets/{project.id}"))
    assert f'href="/conventions/{agreement.id}"' in decliner.html
    assert "Enregistrer l’accord de partage" not in decliner.text


def test_the_plot_a_company_settled_on_links_to_its_project_for_those_in_the_know(
    session, gatine, metropole, third, client, project
):
    _redirection, plot = _installed_on_polaxis(session, gatine, project)
    session.refresh(plot)
    assert (plot.terr_stade_comm, plot.terr_etat_occup) == (SOLD, OCCUPIED)
    for insider in (gatine, metropole):
        page = page_of(insider.get(f"/terrains/{plot.terr_id}"))
        assert page.element_text("projet-installe") == f"Projet n° {project.id}"
    for outsider in (third, client):
        page = page_of(outsider.get(f"/terrains/{plot.terr_id}"))
        assert page.status == 200 and 'id="projet-installe"' not in page.html


def test_epci_lists_are_sorted_as_people_look_them_up(session, metropole, project):
    # A plot of each EPCI kept: each is then a target of the proposal form.
    kept = [
        plot.terr_id for siren, _ in list_epcis(session) for plot in plots_on_sale(session, siren)
    ]
    keep_plots(session, project, kept)
    page = page_of(metropole.get(f"/projets/{project.id}"))
    form = re.search(r'<select[^>]*id="redirection-to_epci_siren".*?</select>', page.html, re.S)
    targets = [html.unescape(t) for t in re.findall(r'<option value="\d+">([^<]+)', form.group(0))]
    assert len(targets) > 2 and targets == sorted(targets, key=epci_sort_key)
    listed = page_of(metropole.get("/projets")).html
    select_epci = re.search(r'<select[^>]*name="epci".*?</select>', listed, re.S).group(0)
    epcis = [html.unescape(t) for t in re.findall(r'<option value="\d+">([^<]+)', select_epci)]
    assert len(epcis) == 11 and epcis == sorted(epcis, key=epci_sort_key)


def test_the_plots_of_an_option_read_in_french_and_say_which_are_kept(session, metropole, project):
    metropole_plot = plots_on_sale(session, METROPOLE, 1)[0]
    for stage in ("visite", "offre"):
        assert move(metropole, project, stage).status_code == 302
    page = page_of(metropole.get(f"/projets/{project.id}"))
    form = re.search(r'<form[^>]*id="etape-option".*?</form>', page.html, re.S).group(0)
    label = html.unescape(
        re.search(rf'<option value="{metropole_plot.terr_id}">([^<]+)', form).group(1)
    )
    surface = f"{metropole_plot.terr_surf_brute:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    assert label.endswith(f"{surface}\u00a0ha — retenu pour ce projet")
    assert "retenus pour ce projet" in Page(200, form).text
