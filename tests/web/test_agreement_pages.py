"""The agreement pages: creating one from a redirection, signing it as each party, moving its
status through a confirmation step, the signed PDF, the calculator, the ledger and its
exports, the case path that follows the agreement, and what outsiders never see."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from case_helpers import (
    COMPANY,
    GATINE_RACAN,
    METROPOLE,
    accepted_redirection,
    delivered_once_when_back,
    newest_message_id,
    referent_of,
    referent_user,
    small_pdf,
    third_epci,
    unreachable_smtp,
    waiting,
)
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web_helpers import (
    Page,
    csrf_token_of,
    form_of,
    form_values,
    page_of,
    post_form,
    visible_text,
)

from foncier.agreements import documents, reading, terms
from foncier.agreements.sharing import split_by_population
from foncier.core.french import epci_sort_key
from foncier.matching.wording import french_date
from foncier.models import (
    Agreement,
    AgreementParty,
    Epci,
    Notification,
    OutboxMessage,
    Redirection,
)
from foncier.web.agreements.forms import terms_of
from seed.accounts import COORDINATOR_EMAIL, PARTNER_EMAIL

ClientFor = Callable[[str], FlaskClient]


def client_of(client_for: ClientFor, session: Session, siren: str) -> FlaskClient:
    return client_for(referent_user(session, siren).email)


def table_text(page: Page, table_id: str) -> str:
    """The visible text of the table ``table_id``."""
    match = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page.html, flags=re.S)
    assert match, f"no table #{table_id}"
    return visible_text(match.group(0))


def euros_text(value: Decimal) -> str:
    """As the pages print it once spaces are folded: « 10 000,00 € »."""
    return f"{value:,.2f} €".replace(",", " ").replace(".", ",")


def create_through_the_form(client: FlaskClient, redirection_id: int) -> int:
    url = f"/conventions/nouvelle?redirection={redirection_id}"
    values = form_values(client.get(url).get_data(as_text=True), "formulaire-convention")
    shares = {
        key.replace("-siren", "-share"): {METROPOLE: "40", GATINE_RACAN: "60"}[value]
        for key, value in values.items()
        if key.endswith("-siren") and value in (METROPOLE, GATINE_RACAN)
    }
    values |= shares | {
        "tax_kind": "cfe",
        "tax_years": "5",
        "first_year": "2027",
        "estimated_annual_amount": "10 000,00",
        "compensation_eur": "5000",
        "compensation_payer_siren": METROPOLE,
        "compensation_payee_siren": GATINE_RACAN,
        "free_text": f"Suivi des emplois de {COMPANY}.",
    }
    response = client.post(url, data=values)
    assert response.status_code == 302, page_of(response).text
    return int(response.headers["Location"].rsplit("/", 1)[1])


@pytest.fixture
def agreement_id(session: Session, client_for: ClientFor) -> int:
    """An agreement created by the Métropole's référent from the founding redirection."""
    redirection = accepted_redirection(session, jobs_created=25)
    return create_through_the_form(client_of(client_for, session, METROPOLE), redirection.id)


def sign(client: FlaskClient, agreement_id: int, read: dict[str, str] | None = None) -> Page:
    """Sign from the agreement's page as it is now, or as it was when ``read``."""
    url = f"/conventions/{agreement_id}"
    values = read or form_of(client, url, "formulaire-signature")
    response = client.post(
        f"{url}/signer",
        data={**values, "signed_on": date.today().isoformat()},
        follow_redirects=True,
    )
    return page_of(response)


def signed_by_both(session: Session, client_for: ClientFor, agreement_id: int) -> None:
    for siren in (METROPOLE, GATINE_RACAN):
        assert sign(client_of(client_for, session, siren), agreement_id).status == 200


# --- creating and signing -------------------------------------------------------------------


def test_the_form_from_a_redirection_prefills_its_two_epcis(
    session: Session, client_for: ClientFor
) -> None:
    redirection = accepted_redirection(session)
    client = client_of(client_for, session, METROPOLE)
    html = client.get(f"/conventions/nouvelle?redirection={redirection.id}").get_data(as_text=True)
    values = form_values(html, "formulaire-convention")
    ticked = {
        values[key.replace("-included", "-siren")] for key in values if key.endswith("-included")
    }
    assert ticked == {METROPOLE, GATINE_RACAN}
    assert values["redirections"] == str(redirection.id)
    assert COMPANY in html  # the référent is in the know: the choice names the company


def test_creating_asks_the_other_party_to_sign(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    agreement = session.get(Agreement, agreement_id)
    assert agreement is not None and agreement.status == "brouillon"
    gatine_user = referent_user(session, GATINE_RACAN)
    notes = session.scalars(select(Notification).where(Notification.user_id == gatine_user.id))
    assert [n.link for n in notes] == [f"/conventions/{agreement_id}"]
    page = page_of(client_of(client_for, session, METROPOLE).get(f"/conventions/{agreement_id}"))
    assert COMPANY in page.text and "Signer pour Tours Métropole Val de Loire" in page.text


def test_both_signatures_make_it_signed(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    first = sign(client_of(client_for, session, METROPOLE), agreement_id)
    assert "attend la signature des autres parties" in first.text
    second = sign(client_of(client_for, session, GATINE_RACAN), agreement_id)
    assert "la convention est signée" in second.text
    assert "Signer pour" not in second.text
    assert session.get_one(Agreement, agreement_id).status == "signee"


def test_a_signature_sent_from_older_terms_answers_409_with_the_terms_now(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    """The Métropole reads 40/60, Gâtine-Racan changes it to 10/90, the Métropole clicks
    « Signer »: nothing is signed, the page shows 10/90."""
    metropole = client_of(client_for, session, METROPOLE)
    read = form_of(metropole, f"/conventions/{agreement_id}", "formulaire-signature")
    agreement = session.get_one(Agreement, agreement_id)
    changed = replace(
        terms_of(agreement), parties={METROPOLE: Decimal(10), GATINE_RACAN: Decimal(90)}
    )
    terms.update_agreement(session, referent_of(session, GATINE_RACAN), agreement_id,
                           changed, agreement.version)  # fmt: skip
    page = sign(metropole, agreement_id, read)
    assert page.status == 409
    assert "a changé depuis que vous l’avez lue" in page.text
    parties = table_text(page, "parties")
    assert re.search(r"Gâtine-Racan 90(,00)? % en attente", parties), parties
    assert all(party.signed_on is None for party in agreement.parties)
    assert sign(metropole, agreement_id).status == 200  # from the terms now shown


def test_the_projection_table_shows_each_partys_yearly_share(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    page = page_of(client_of(client_for, session, GATINE_RACAN).get(f"/conventions/{agreement_id}"))
    projection = table_text(page, "projection")
    assert "2031" in projection and "6 000,00 €" in projection and "50 000,00 €" in projection


def test_an_edit_from_an_old_version_answers_409(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    client = client_of(client_for, session, GATINE_RACAN)
    url = f"/conventions/{agreement_id}/modifier"
    stale = form_values(client.get(url).get_data(as_text=True), "formulaire-convention")
    fresh = dict(stale, title="Titre changé par l’autre")
    assert client.post(url, data=fresh).status_code == 302
    response = client.post(url, data=dict(stale, title="Mon titre"))
    assert response.status_code == 409
    assert "pendant que vous la modifiiez" in page_of(response).text


def test_status_moves_follow_the_table_through_a_confirmation_step(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    signed_by_both(session, client_for, agreement_id)
    client = client_of(client_for, session, GATINE_RACAN)
    page = page_of(client.get(f"/conventions/{agreement_id}"))
    assert page.values("data-status") == ["en_vigueur", "terminee"]
    # Ending is never the page's main (dark) button.
    assert re.search(r'class="bouton bouton-secondaire"[^>]*id="vers-terminee"', page.html)
    url = f"/conventions/{agreement_id}/statut"
    confirm = page_of(client.get(f"{url}?status=en_vigueur"))
    assert confirm.status == 200
    assert "Déclarer la convention n° " in confirm.text and "en vigueur ?" in confirm.text
    assert session.get_one(Agreement, agreement_id).status == "signee"  # a GET changes nothing
    values = form_of(client, f"{url}?status=en_vigueur", "confirmation-statut")
    response = client.post(url, data=values)
    assert response.status_code == 302
    assert session.get_one(Agreement, agreement_id).status == "en_vigueur"
    # The same confirmation sent again (a second tab): refused, nothing moves.
    assert client.post(url, data=values).status_code in (400, 409)
    again = page_of(client.get(f"{url}?status=en_vigueur"))
    assert again.status == 400 and "ne peut pas passer au statut" in again.text


def test_the_confirmation_warns_when_the_period_has_not_begun(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    agreement = session.get_one(Agreement, agreement_id)
    agreement.starts_on = date(date.today().year + 1, 1, 1)
    session.flush()
    signed_by_both(session, client_for, agreement_id)
    client = client_of(client_for, session, METROPOLE)
    page = page_of(client.get(f"/conventions/{agreement_id}/statut?status=en_vigueur"))
    assert "ne prend effet que le 1er janvier" in page.element_text("alerte-periode")
    assert f"à partir du 1er janvier {date.today().year + 1}" in page.text
    ending = page_of(client.get(f"/conventions/{agreement_id}/statut?status=terminee"))
    assert "alerte-periode" not in ending.html and "ne repasse pas en vigueur" in ending.text


def test_only_parties_in_the_know_reach_the_confirmation(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    signed_by_both(session, client_for, agreement_id)
    url = f"/conventions/{agreement_id}/statut?status=en_vigueur"
    assert client_for(PARTNER_EMAIL).get(url).status_code == 403
    assert client_of(client_for, session, third_epci(session)).get(url).status_code == 403


# --- the signed PDF ---------------------------------------------------------------------------


def test_upload_and_download_the_signed_pdf(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    signed_by_both(session, client_for, agreement_id)
    client = client_of(client_for, session, GATINE_RACAN)
    url = f"/conventions/{agreement_id}"
    pdf = small_pdf()
    response = client.post(
        f"{url}/document",
        data={
            "csrf_token": csrf_token_of(client, url),
            "document": (io.BytesIO(pdf), "Signée.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    download = client_of(client_for, session, METROPOLE).get(f"{url}/document")
    assert download.status_code == 200 and download.data == pdf
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == 'attachment; filename="Signee.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    refused = client.post(
        f"{url}/document",
        data={"csrf_token": csrf_token_of(client, url), "document": (io.BytesIO(b"MZ"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400 and "n’est pas un PDF" in page_of(refused).text


def test_a_third_epci_may_not_sign_edit_nor_download(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    documents.attach_document(
        session,
        reading.Actor.of(referent_user(session, GATINE_RACAN)),
        session.get_one(Agreement, agreement_id),
        "c.pdf",
        small_pdf(),
    )
    third = client_of(client_for, session, third_epci(session))
    url = f"/conventions/{agreement_id}"
    assert third.get(f"{url}/document").status_code == 403
    assert third.get(f"{url}/modifier").status_code == 403
    token = csrf_token_of(third, url)
    refused = third.post(f"{url}/signer", data={"csrf_token": token, "signed_on": "2026-01-05"})
    assert refused.status_code == 403


def test_a_party_not_in_the_know_may_neither_read_to_edit_nor_sign(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    """A third party added by rows (the core now refuses it): it does not know the company."""
    third = third_epci(session)
    agreement = session.get_one(Agreement, agreement_id)
    agreement.parties.append(AgreementParty(epci_siren=third))
    session.flush()
    client = client_of(client_for, session, third)
    url = f"/conventions/{agreement_id}"
    edit_page = client.get(f"{url}/modifier")
    assert edit_page.status_code == 403
    assert COMPANY not in edit_page.get_data(as_text=True)
    detail = page_of(client.get(url))
    assert "formulaire-signature" not in detail.html and "modifier-convention" not in detail.html
    version = str(agreement.version)
    refused = post_form(client, f"{url}/signer", {"signed_on": "2026-01-05", "version": version},
                        form_page=url)  # fmt: skip
    assert refused.status_code == 403
    assert "connaissent l’entreprise" in page_of(refused).text


def messages_after(session: Session, newest: int) -> list[OutboxMessage]:
    """The e-mails a request wrote (after the message ``newest``), tried while the mail
    server was down."""
    written = session.scalars(select(OutboxMessage.id).where(OutboxMessage.id > newest))
    return waiting(session, written.all())


def test_a_mail_server_that_is_down_does_not_stop_a_new_agreement(
    app: Flask, session: Session, session_factory: sessionmaker[Session], client_for: ClientFor
) -> None:
    """The draft is saved and Gâtine-Racan asked in its inbox; the e-mail waits for the mail
    server, then leaves once."""
    redirection = accepted_redirection(session)
    app.config["MAIL_SETTINGS"] = unreachable_smtp()
    newest = newest_message_id(session)
    agreement_id = create_through_the_form(
        client_of(client_for, session, METROPOLE), redirection.id
    )
    asked = session.scalars(
        select(Notification).where(Notification.link == f"/conventions/{agreement_id}")
    ).all()
    assert [n.user_id for n in asked] == [referent_user(session, GATINE_RACAN).id]
    [mail] = messages_after(session, newest)
    assert mail.subject == f"Convention n° {agreement_id} à signer"
    delivered_once_when_back(session_factory, [mail])


def test_a_mail_server_that_is_down_does_not_stop_a_signature_nor_an_edit(
    app: Flask,
    session: Session,
    session_factory: sessionmaker[Session],
    client_for: ClientFor,
    agreement_id: int,
) -> None:
    """The Métropole signs, then Gâtine-Racan's edit erases that signature and owes the
    Métropole a message: both are saved while the mail server is down; the message waits."""
    app.config["MAIL_SETTINGS"] = unreachable_smtp()
    assert sign(client_of(client_for, session, METROPOLE), agreement_id).status == 200
    gatine = client_of(client_for, session, GATINE_RACAN)
    url = f"/conventions/{agreement_id}/modifier"
    values = form_values(gatine.get(url).get_data(as_text=True), "formulaire-convention")
    newest = newest_message_id(session)
    response = gatine.post(url, data=dict(values, title="Titre changé"))
    assert response.status_code == 302
    agreement = session.get_one(Agreement, agreement_id)
    session.refresh(agreement)
    assert agreement.title == "Titre changé"
    assert {party.epci_siren: party.signed_on for party in agreement.parties}[METROPOLE] is None
    [mail] = messages_after(session, newest)
    assert mail.recipient == referent_user(session, METROPOLE).email
    assert "signature à renouveler" in mail.subject
    delivered_once_when_back(session_factory, [mail])


# --- what outsiders see -------------------------------------------------------------------------


OUTSIDER_URLS = (
    "/conventions",
    "/conventions/{id}",
    "/conventions/registre",
    "/conventions/registre.csv",
    "/conventions/registre-epci.csv",
    "/conventions/calculateur",
)


@pytest.mark.parametrize("who", ["partner", "third"])
def test_outsiders_never_see_the_company(
    session: Session, client_for: ClientFor, agreement_id: int, who: str
) -> None:
    signed_by_both(session, client_for, agreement_id)
    outsider = (
        client_for(PARTNER_EMAIL)
        if who == "partner"
        else client_of(client_for, session, third_epci(session))
    )
    for url in OUTSIDER_URLS:
        response = outsider.get(url.format(id=agreement_id))
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        assert COMPANY not in text and "Suivi des emplois de" not in text, url
    detail = page_of(outsider.get(f"/conventions/{agreement_id}"))
    assert "entreprise confidentielle" in detail.text and "5 000,00 €" in detail.text
    # The covered project is numbered, not linked: its page is not for them.
    prospect_id = detail.values("data-prospect-id")[0]
    assert f"Projet n° {prospect_id} (entreprise confidentielle)" in detail.text
    assert f"/projets/{prospect_id}" not in detail.html
    workbook = load_workbook(io.BytesIO(outsider.get("/conventions/registre.xlsx").data))
    cells = [str(c.value) for sheet in workbook for row in sheet.iter_rows() for c in row]
    assert not any(COMPANY in cell for cell in cells)


def test_the_coordinator_reads_the_company_in_the_ledger_and_its_exports(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    signed_by_both(session, client_for, agreement_id)
    coordinator = client_for(COORDINATOR_EMAIL)
    ledger = page_of(coordinator.get("/conventions/registre"))
    assert COMPANY in table_text(ledger, "registre")
    csv_text = coordinator.get("/conventions/registre.csv").get_data(as_text=True)
    assert COMPANY in csv_text and "50000,00" in csv_text
    totals = coordinator.get("/conventions/registre-epci.csv").get_data(as_text=True)
    metropole_row = next(line for line in totals.splitlines() if line.startswith(METROPOLE))
    assert metropole_row.split(";")[2:7] == ["1", "0,00", "5000,00", "20000,00", "0"]
    workbook = load_workbook(io.BytesIO(coordinator.get("/conventions/registre.xlsx").data))
    assert workbook.sheetnames == ["Conventions", "Totaux par EPCI"]
    assert workbook["Conventions"]["E2"].value == COMPANY


# --- list -------------------------------------------------------------------------------------


def test_the_list_filters_by_status_and_says_when_nothing_matches(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    client = client_for(PARTNER_EMAIL)
    drafts = page_of(client.get("/conventions?statut=brouillon"))
    assert drafts.values("data-agreement-id") == [str(agreement_id)]
    assert f"Convention n° {agreement_id}" in drafts.text
    signed = page_of(client.get(f"/conventions?statut=signee&epci={GATINE_RACAN}"))
    assert signed.values("data-agreement-id") == []
    assert "Aucune convention ne correspond à ces critères" in signed.text
    assert client.get("/conventions?tri=nimporte").status_code == 400


def test_the_partner_has_no_new_agreement_button_nor_form(client: FlaskClient) -> None:
    assert "nouvelle-convention" not in client.get("/conventions").get_data(as_text=True)
    assert client.get("/conventions/nouvelle").status_code == 403


# --- calculator ---------------------------------------------------------------------------------


def decimal_of(cell: str) -> Decimal:
    return Decimal(re.sub(r"[^\d,]", "", cell).replace(",", "."))


def test_the_calculator_splits_ten_thousand_euros_among_the_ccs_exactly(
    session: Session, client: FlaskClient
) -> None:
    page = page_of(client.get("/conventions/calculateur?montant=10+000,00&mode=population"))
    assert page.status == 200
    rows = re.findall(
        r'<th scope="row">([^<]*)</th>\s*<td class="nombre" data-population>([^<]*)</td>\s*'
        r'<td class="nombre" data-percent>([^<]*)</td>\s*<td class="nombre" data-part>([^<]*)<',
        page.html,
    )
    names = [html_name for html_name, _, _, _ in rows]
    parts = {name: decimal_of(part) for name, _, _, part in rows}
    assert len(parts) == 10 and sum(parts.values()) == Decimal("10000.00")
    assert sum(decimal_of(percent) for _, _, percent, _ in rows) == Decimal(100)
    assert page.element_text("total-repartition") == euros_text(Decimal("10000.00"))
    ccs = session.execute(select(Epci.nom, Epci.population).where(Epci.nature == "CC")).all()
    populations = dict(ccs)
    assert decimal_of(page.element_text("total-population")) == sum(populations.values())
    expected = split_by_population(Decimal("10000.00"), populations)
    assert parts == {name.replace("'", "&#39;"): part for name, part in expected.items()}
    # Listed as people look for them: « Castelrenaudais » among the C.
    assert names == sorted(names, key=lambda name: epci_sort_key(name.replace("&#39;", "'")))


def test_the_calculator_projects_years_and_refuses_fractions_of_cents(
    client: FlaskClient,
) -> None:
    page = page_of(
        client.get("/conventions/calculateur?montant=1000&mode=egal&annees=3&premiere_annee=2027")
    )
    assert "2029" in table_text(page, "projection")
    refused = page_of(client.get("/conventions/calculateur?montant=10,001&mode=egal"))
    assert refused.status == 400 and "plus de deux décimales" in refused.text
    shares = page_of(client.get("/conventions/calculateur?montant=10&mode=parts"))
    assert shares.status == 400 and "100 %" in shares.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("montant=1&annees=50&croissance=1e3000", "Une hausse annuelle de plus de 100 %"),
        ("montant=1&annees=50&croissance=-100", "Une baisse annuelle de 100 %"),
        ("montant=1e13&mode=egal", "Montant trop élevé"),
        ("montant=-1e3000&mode=egal", "Montant trop élevé"),
    ],
)
def test_the_calculator_refuses_numbers_out_of_bounds_at_once(
    client: FlaskClient, query: str, message: str
) -> None:
    start = time.process_time()
    page = page_of(client.get(f"/conventions/calculateur?{query}"))
    assert page.status == 400 and message in page.text
    assert time.process_time() - start < 2


def test_the_calculator_shows_a_part_column_in_every_mode(client: FlaskClient) -> None:
    equal = page_of(client.get("/conventions/calculateur?montant=100&mode=egal"))
    assert equal.status == 200 and "data-population" not in equal.html
    percents = [decimal_of(cell) for cell in re.findall(r"data-percent>([^<]*)<", equal.html)]
    assert len(percents) == 10 and sum(percents) == Decimal(100) and percents[0] == 10
    # The script that hides the fixed shares outside their mode is this origin's own file.
    assert '<script src="/static/js/calculator.js" defer>' in equal.html


# --- pages that read well ----------------------------------------------------------------------


def test_the_detail_links_each_covered_project_for_a_party(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    page = page_of(client_of(client_for, session, GATINE_RACAN).get(f"/conventions/{agreement_id}"))
    prospect_id = page.values("data-prospect-id")[0]
    assert f'<a href="/projets/{prospect_id}">{COMPANY}</a>' in page.html
    covered = re.search(r'<ul id="redirections-couvertes">.*?</ul>', page.html, flags=re.S)
    assert covered is not None
    assert (
        "de Tours Métropole Val de Loire vers la Communauté de communes de Gâtine-Racan"
        in visible_text(covered.group(0))
    )
    assert "Signer pour la Communauté de communes de Gâtine-Racan" in page.text
    assert (
        "versée par Tours Métropole Val de Loire à la Communauté de communes de Gâtine-Racan"
        in page.text
    )


def test_the_project_page_path_follows_the_agreement(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    signed_by_both(session, client_for, agreement_id)
    agreement = session.get_one(Agreement, agreement_id)
    redirection = session.get_one(Redirection, agreement.redirections[0].redirection_id)
    client = client_of(client_for, session, GATINE_RACAN)
    page = page_of(client.get(f"/projets/{redirection.prospect_id}"))
    assert page.status == 200
    path = re.search(r'<ol class="parcours" id="parcours">.*?</ol>', page.html, flags=re.S)
    assert path, "no path on the project page"
    steps = visible_text(path.group(0))
    n, today = agreement_id, french_date(date.today())
    assert f"Convention de partage n° {n} établie (brouillon)" in steps
    # Each party's signature, with its date and its EPCI (the subtitle names the Métropole
    # too, as the EPCI that recorded the project: only the path tells who signed).
    assert f"Convention de partage n° {n} signée le {today} par Tours Métropole Val de Loire" in (
        steps
    )
    assert (
        f"Convention de partage n° {n} signée le {today} par la Communauté de communes de "
        "Gâtine-Racan"
    ) in steps
    assert f"Convention de partage n° {n} signée par toutes ses parties" in steps


def test_the_list_and_the_period_read_as_sentences(session: Session, client_for: ClientFor) -> None:
    redirection = accepted_redirection(session)
    metropole = client_of(client_for, session, METROPOLE)
    url = f"/conventions/nouvelle?redirection={redirection.id}"
    values = form_values(metropole.get(url).get_data(as_text=True), "formulaire-convention")
    response = metropole.post(url, data=dict(values, starts_on="2027-01-01"))
    assert response.status_code == 302
    agreement_id = int(response.headers["Location"].rsplit("/", 1)[1])
    detail = page_of(metropole.get(f"/conventions/{agreement_id}"))
    assert detail.element_text("periode") == "à partir du 1er janvier 2027"
    listed = table_text(page_of(metropole.get("/conventions")), "conventions")
    assert "Brouillon 0 / 2 non renseigné aucune" in listed


def test_the_form_has_a_breadcrumb_and_one_line_per_covered_redirection(
    session: Session, client_for: ClientFor
) -> None:
    redirection = accepted_redirection(session)
    client = client_of(client_for, session, METROPOLE)
    page = page_of(client.get(f"/conventions/nouvelle?redirection={redirection.id}"))
    assert "Conventions de partage › Nouvelle convention" in page.text
    assert page.text.count("Redirections couvertes") == 1
    item = re.search(r'<fieldset[^>]*id="redirections".*?<li>(.*?)</li>', page.html, flags=re.S)
    assert item is not None
    assert re.fullmatch(r'<input[^>]*value="\d+"[^>]*> <label for="[^"]+">[^<]+</label>',
                        item.group(1).strip())  # fmt: skip
    # The parties are listed as people look for them.
    labels = re.findall(r'<label for="parties-\d+-included">([^<]*)</label>', page.html)
    assert labels == sorted(labels, key=lambda name: epci_sort_key(name.replace("&#39;", "'")))


def test_the_ledger_closes_its_totals_with_the_network_line(
    session: Session, client_for: ClientFor, agreement_id: int
) -> None:
    signed_by_both(session, client_for, agreement_id)
    page = page_of(client_for(PARTNER_EMAIL).get("/conventions/registre"))
    totals = table_text(page, "totaux")
    assert "Total du réseau 1 5 000,00 € 5 000,00 € 50 000,00 € 25" in totals
    assert "Compensation" in table_text(page, "registre")
