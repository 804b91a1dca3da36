"""The network's founding story, end to end in a real Chromium, as the demo accounts live it.

Tours Métropole's référent records a company's project, runs the matching from the project
page, keeps a Polaxis plot and proposes the project to the CC Gâtine-Racan. Gâtine-Racan's
référent finds the proposal in the inbox, accepts it and follows the case to the company's
installation on that plot, which the inventory then shows « vendu ». Both référents sign a
shared-benefit agreement (CFE 40/60 over 5 years) with its signed PDF. A référent of a third
EPCI sees the project only as an anonymised card, and the company's name nowhere.

Each person works in a browser context of their own, signed in through the sign-in page. The
live server writes to the browser tests' committed database: the company gets a name unique
to the run, the plot is the first Polaxis plot the matching ranks, and nothing counts rows.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import Locator, expect
from playwright.sync_api import Page as BrowserPage
from sqlalchemy import Engine, text

from foncier.core.french import epci_named
from seed.accounts import PARTNER_EMAIL

pytestmark = pytest.mark.browser

METROPOLE_REFERENT = "referent.tours-metropole-val-de-loire@demo.foncier.test"
GATINE_RACAN_REFERENT = "referent.gatine-racan@demo.foncier.test"
THIRD_REFERENT = "referent.loches-sud-touraine@demo.foncier.test"
METROPOLE, GATINE_RACAN = "243700754", "200073237"
SOLD = "vendu, commercialisation achevée"
RAIL = "reseau_fret_ferroviaire"
JOBS_PLANNED, JOBS_CREATED = 80, 65
MESSAGE = "Rien de 5 ha embranché fer chez nous ; Polaxis convient à cet entrepôt."
# The smallest file the platform takes for a PDF: its magic number, one empty page, its end.
SIGNED_PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


@dataclass
class Story:
    """What the journey learns as it goes, for the steps after."""

    company: str
    epci_names: dict[str, str]
    prospect_id: int = 0
    terr_id: str = ""
    redirection_id: int = 0
    agreement_id: int = 0

    @property
    def token(self) -> str:
        """The part of the company's name unique to this run."""
        return self.company.rsplit(" ", 1)[-1]

    @property
    def project_path(self) -> str:
        return f"/projets/{self.prospect_id}"


def epci_names(browser_engine: Engine) -> dict[str, str]:
    with browser_engine.connect() as connection:
        return {
            siren: nom for siren, nom in connection.execute(text("SELECT siren, nom FROM epci"))
        }


def open_menu(page: BrowserPage, label: str) -> None:
    """Follow an entry of the main navigation, as a person does."""
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name=label
    ).click()


def unread_count(page: BrowserPage) -> int:
    """The number on the inbox's menu entry (none shown: 0)."""
    badge = page.locator(".navigation .compteur-non-lus")
    if badge.count() == 0:
        return 0
    return int(re.match(r"\d+", badge.text_content() or "").group())


def success(page: BrowserPage) -> Locator:
    return page.locator(".message-succes")


# --- 1. Tours Métropole records the project and proposes it to Gâtine-Racan --------------------


def record_project(page: BrowserPage, live_server: str, story: Story) -> None:
    page.goto(f"{live_server}/")
    open_menu(page, "Projets")
    expect(page.locator("h1")).to_have_text("Projets d’entreprise")
    page.locator("#nouveau-projet").click()
    expect(page.locator("h1")).to_have_text("Nouveau projet d’entreprise")
    page.get_by_label("Nom de l’entreprise").fill(story.company)
    page.locator("#naf_code").fill("52.10B")
    page.get_by_label("Origine du projet").select_option("agence_regionale")
    page.get_by_label("Emplois prévus").fill(str(JOBS_PLANNED))
    page.get_by_label("Investissement prévu (€)").fill("4 500 000")
    page.get_by_label("Nom du contact").fill("Camille Essai")
    page.get_by_label("Courriel du contact").fill("camille.essai@example.org")
    retention = date.today() + timedelta(days=365)
    page.get_by_label("Coordonnées conservées jusqu’au").fill(retention.isoformat())
    # The logistician of the search's examples: 5 ha, 1 MW, a rail siding.
    page.get_by_label("Surface minimale (ha)").fill("5")
    page.get_by_label("Puissance électrique minimale (kVA)").fill("1000")
    page.locator(f"input[name='needs-networks_required'][value='{RAIL}']").check()
    page.get_by_role("button", name="Enregistrer le projet").click()
    page.wait_for_url(re.compile(r"/projets/\d+$"))
    story.prospect_id = int(page.url.rsplit("/", 1)[-1])
    expect(page.locator("h1")).to_have_text(story.company)
    expect(success(page)).to_have_text(f"Projet « {story.company} » enregistré.")
    expect(page.locator("#entreprise")).to_contain_text("52.10B")
    expect(page.locator("#etape-actuelle")).to_have_text("Nouveau")


def keep_first_polaxis_plot(page: BrowserPage, story: Story) -> None:
    page.locator("#rechercher-terrains").click()
    expect(page.locator("h1")).to_have_text(f"Terrains pour {story.company}")
    polaxis = page.locator("#classement > li").filter(
        has=page.locator(".resultat-lieu", has_text="Polaxis")
    )
    expect(polaxis.first).to_be_visible()
    story.terr_id = polaxis.first.get_attribute("data-terr-id") or ""
    assert story.terr_id.startswith("37167_TERRAIN-ECO_")
    # Each result reads like the search's: its park and EPCI, surface, price, score.
    facts = polaxis.first.locator(".resultat-faits")
    expect(facts).to_contain_text("Surface : ")
    expect(facts).to_contain_text("Prix : ")
    page.get_by_role("button", name=f"Garder le terrain {story.terr_id}").click()
    # Back to the same results, at the kept plot: another could be kept at once.
    page.wait_for_url(re.compile(rf"{story.project_path}/terrains#terrain-{story.terr_id}$"))
    expect(success(page)).to_have_text(f"Terrain {story.terr_id} retenu pour le projet.")
    expect(page.locator(f"#terrain-{story.terr_id} .garde")).to_have_text("Retenu pour le projet")
    page.get_by_role("link", name="Retour au projet").click()
    page.wait_for_url(re.compile(rf"{story.project_path}$"))
    expect(page.locator(f"#selection-{story.terr_id}")).to_contain_text("Polaxis")


def propose_to_gatine_racan(page: BrowserPage, story: Story) -> None:
    page.locator("#suivi summary", has_text="Rediriger l’entreprise").click()
    form = page.locator("#formulaire-redirection")
    form.get_by_label("EPCI à qui proposer le projet").select_option(GATINE_RACAN)
    form.locator(f"input[name='redirection-terr_ids'][value='{story.terr_id}']").check()
    form.get_by_label("Message aux référents de cet EPCI").fill(MESSAGE)
    form.get_by_role("button", name="Proposer le projet").click()
    page.wait_for_url(re.compile(rf"{story.project_path}$"))
    expect(success(page)).to_contain_text(f"Projet proposé à la {story.epci_names[GATINE_RACAN]}")
    expect(page.locator("#redirection-en-attente")).to_be_visible()
    row = page.locator("#redirections-du-projet tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "proposee")
    story.redirection_id = int(row.get_attribute("data-redirection-id") or 0)


# --- 2. Gâtine-Racan accepts and follows the case to the installation -------------------------


def open_proposal_from_inbox(page: BrowserPage, unread_before: int, story: Story) -> None:
    page.reload()
    assert unread_count(page) == unread_before + 1
    open_menu(page, "Boîte de réception")
    expect(page.locator("h1")).to_have_text("Boîte de réception")
    # At 1280 px, the menu entry holds on one line (one box, one underline).
    entry = page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Boîte de réception"
    )
    assert entry.evaluate("a => a.getClientRects().length") == 1
    # The inbox's words are the e-mail's: the project's number, never the company.
    message = page.locator("#boite > li").filter(
        has_text=f"Projet n° {story.prospect_id} proposé à votre EPCI"
    )
    expect(message).to_have_count(1)
    expect(message).not_to_contain_text(story.company)
    expect(message).to_have_attribute("data-read", "non")
    message.get_by_role("button", name="Ouvrir").click()
    page.wait_for_url(re.compile(rf"/redirections/{story.redirection_id}$"))
    expect(page.locator("#entreprise")).to_have_text(story.company)
    expect(page.locator("#message")).to_have_text(MESSAGE)
    expect(page.locator("#terrains-proposes")).to_have_text(story.terr_id)
    expect(page.locator("#statut-redirection")).to_have_attribute("data-status", "proposee")
    # Opened, the message is read: the menu's count is back where it was.
    assert unread_count(page) == unread_before


def accept(page: BrowserPage, story: Story) -> None:
    page.get_by_role("button", name="Accepter le projet").click()
    page.wait_for_url(re.compile(rf"{story.project_path}$"))
    expect(success(page)).to_have_text(
        "Proposition acceptée : votre EPCI suit désormais ce projet."
    )
    expect(page.locator("#suivi")).to_contain_text(f"suivi par la {story.epci_names[GATINE_RACAN]}")
    expect(page.locator("#redirections-du-projet tbody tr")).to_have_attribute(
        "data-status", "acceptee"
    )


def advance(
    page: BrowserPage, button: str, stage_label: str, fill: Callable[[Locator], None] | None = None
) -> None:
    """Open the move ``button`` of the project's panel, fill its form, send it."""
    move = page.locator("#suivi details.etape-possible").filter(
        has=page.locator("summary", has_text=button)
    )
    move.locator("summary").click()
    form = move.locator("form")
    if fill is not None:
        fill(form)
    form.get_by_role("button", name=button).click()
    expect(success(page)).to_have_text(f"Étape enregistrée : {stage_label.lower()}.")
    expect(page.locator("#etape-actuelle")).to_have_text(stage_label)


def follow_the_case_to_installation(page: BrowserPage, story: Story) -> None:
    # A project received « nouveau » may go straight to a visit (cases.TRANSITIONS); this one
    # starts with the search.
    advance(page, "Commencer la recherche", "En recherche")
    advance(page, "Noter une visite", "Visite")
    advance(page, "Noter une offre faite à l’entreprise", "Offre")

    def on_the_kept_plot(form: Locator) -> None:
        form.get_by_label("Terrain").select_option(story.terr_id)

    advance(page, "Poser une option (ou un compromis)", "Option ou compromis", on_the_kept_plot)

    def installed(form: Locator) -> None:
        # The optioned plot comes chosen.
        expect(form.get_by_label("Terrain")).to_have_value(story.terr_id)
        form.get_by_label("Date d’installation").fill(date.today().isoformat())
        form.get_by_label("Emplois créés").fill(str(JOBS_CREATED))

    advance(page, "Marquer l’entreprise installée", "Installé", installed)
    expect(page.locator("#suivi details.etape-possible")).to_have_count(0)
    expect(page.locator("#parcours")).to_contain_text(story.terr_id)


def plot_stage(page: BrowserPage, live_server: str, terr_id: str) -> Locator:
    page.goto(f"{live_server}/terrains/{terr_id}")
    return page.locator(".fiche-entete .stade")


# --- 4. The shared-benefit agreement ------------------------------------------------------------


def record_agreement(page: BrowserPage, story: Story) -> None:
    link = page.locator(f"#accord-{story.redirection_id}")
    expect(link).to_have_text(f"Enregistrer l’accord de partage avec {story.epci_names[METROPOLE]}")
    link.click()
    page.wait_for_url(re.compile(rf"/conventions/nouvelle\?redirection={story.redirection_id}$"))
    form = page.locator("#formulaire-convention")
    # Prefilled from the redirection: its two EPCIs as parties, the redirection covered.
    checked = form.locator("#parties input[type=checkbox]:checked")
    expect(checked).to_have_count(2)
    for siren in (METROPOLE, GATINE_RACAN):
        expect(form.get_by_label(story.epci_names[siren], exact=True)).to_be_checked()
    expect(
        form.locator(f"input[name=redirections][value='{story.redirection_id}']")
    ).to_be_checked()
    form.get_by_label(f"Part de {story.epci_names[METROPOLE]} (%)").fill("40")
    form.get_by_label(f"Part de {story.epci_names[GATINE_RACAN]} (%)").fill("60")
    form.get_by_label("Recette fiscale partagée").select_option("cfe")
    form.get_by_label("Durée du partage (années)").fill("5")
    form.get_by_label("Première année").fill(str(date.today().year + 1))
    form.get_by_label("Montant annuel estimé (€)").fill("12 000")
    form.get_by_label("Suivi des emplois").fill(f"{JOBS_CREATED} emplois à l’installation.")
    form.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(re.compile(r"/conventions/\d+$"))
    story.agreement_id = int(page.url.rsplit("/", 1)[-1])
    expect(success(page)).to_have_text(
        f"Convention n° {story.agreement_id} enregistrée comme brouillon."
    )
    expect(page.locator(".statut-convention")).to_have_text("Brouillon")
    expect(page.locator("#redirections-couvertes")).to_contain_text(story.company)
    # 12 000 € a year, 5 years: 24 000 € to the Métropole, 36 000 € to Gâtine-Racan.
    projection = re.sub(r"\s", "", page.locator("#projection").text_content() or "")
    assert "24000,00€" in projection and "36000,00€" in projection


def sign_for_own_epci(page: BrowserPage, siren: str, story: Story) -> None:
    signer = f"Signer pour {epci_named(story.epci_names[siren])}"
    page.get_by_role("button", name=signer, exact=True).click()
    page.wait_for_url(re.compile(rf"/conventions/{story.agreement_id}$"))
    expect(page.locator(f"#parties tr[data-party='{siren}']")).to_contain_text("signée le")


def attach_and_download_pdf(page: BrowserPage, story: Story) -> None:
    form = page.locator("#formulaire-document")
    form.get_by_label("Convention signée (PDF)").set_input_files(
        {"name": "convention-signee.pdf", "mimeType": "application/pdf", "buffer": SIGNED_PDF}
    )
    form.get_by_role("button", name="Déposer le document").click()
    expect(success(page)).to_have_text("Document signé enregistré.")
    with page.expect_download() as download:
        page.locator("#telecharger-document").click()
    assert download.value.suggested_filename == "convention-signee.pdf"
    with open(download.value.path(), "rb") as saved:
        assert saved.read() == SIGNED_PDF


# --- 5. A third EPCI: the anonymised card, and the company's name nowhere -----------------------


def assert_company_unnamed(page: BrowserPage, story: Story) -> None:
    """Neither the name nor its unique part, however escaped, anywhere in the page's HTML."""
    expect(page.locator("h1")).to_be_visible()
    assert story.token not in page.content(), page.url


def third_epci_sees_only_the_card(
    page: BrowserPage, live_server: str, story: Story, screenshot: Callable[..., object]
) -> None:
    open_menu(page, "Projets")
    row = page.locator(f"#projets tr[data-prospect-id='{story.prospect_id}']")
    expect(row).to_have_attribute("data-anonyme", "oui")
    expect(row.locator("th")).to_have_text(f"Projet n°\u00a0{story.prospect_id}")
    assert_company_unnamed(page, story)
    row.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"{story.project_path}$"))
    expect(page.locator("#projet-confidentiel")).to_be_visible()
    card = page.locator("#fiche-anonyme")
    for fact in ("Secteur", "Surface recherchée", "Emplois prévus", "Créé en"):
        expect(card.locator("dt", has_text=fact)).to_have_count(1)
    expect(card).to_contain_text(str(JOBS_PLANNED))
    expect(card).to_contain_text(story.epci_names[GATINE_RACAN])
    expect(page.locator("#entreprise")).to_have_count(0)
    assert_company_unnamed(page, story)
    screenshot(page, "histoire-5-fiche-anonyme")
    page.goto(f"{live_server}/conventions/{story.agreement_id}")
    expect(page.locator("#reserve")).to_be_visible()
    expect(page.locator("#telecharger-document")).to_have_count(0)
    assert_company_unnamed(page, story)
    # The network's redirections, this one included, with the project's number only.
    open_menu(page, "Redirections")
    row = page.locator(f"#redirections tr[data-redirection-id='{story.redirection_id}']")
    expect(row).to_have_attribute("data-anonyme", "oui")
    assert_company_unnamed(page, story)
    for path in ("/conventions", "/conventions/registre"):
        page.goto(f"{live_server}{path}")
        assert_company_unnamed(page, story)
    # The exports the pages link to, downloaded with the same signed-in session.
    for path in ("/projets/export.csv", "/conventions/registre.csv"):
        response = page.request.get(f"{live_server}{path}")
        assert response.ok, path
        assert story.token not in response.text(), path


def partner_sees_the_redirection_unnamed(page: BrowserPage, story: Story) -> None:
    """The partner's list shows every redirection of the network, this one included: who
    sent a project to whom, never the company."""
    open_menu(page, "Redirections")
    row = page.locator(f"#redirections tr[data-redirection-id='{story.redirection_id}']")
    expect(row).to_have_count(1)
    expect(row.locator("td").first).to_have_text(f"Projet confidentiel n°\u00a0{story.prospect_id}")
    # Its one link opens the anonymised card, not the proposal.
    expect(row.get_by_role("link")).to_have_attribute("href", story.project_path)
    expect(row.locator("td").nth(1)).to_have_text(story.epci_names[METROPOLE])
    expect(row.locator("td").nth(2)).to_have_text(story.epci_names[GATINE_RACAN])
    assert_company_unnamed(page, story)


# --- the journey ---------------------------------------------------------------------------------


def test_the_founding_story_runs_end_to_end_across_three_epcis(
    signed_in, live_server: str, browser_engine: Engine, screenshot
):
    story = Story(f"Entrepôts Essai {uuid.uuid4().hex[:8]}", epci_names(browser_engine))
    metropole = signed_in(METROPOLE_REFERENT)
    gatine = signed_in(GATINE_RACAN_REFERENT)
    unread_before = unread_count(gatine)

    # 1. The Métropole records the project, matches it, keeps a Polaxis plot, redirects.
    record_project(metropole, live_server, story)
    keep_first_polaxis_plot(metropole, story)
    propose_to_gatine_racan(metropole, story)
    screenshot(metropole, "histoire-1-projet-propose")

    # 2. Gâtine-Racan reads the proposal in its inbox, accepts, follows the case.
    open_proposal_from_inbox(gatine, unread_before, story)
    screenshot(gatine, "histoire-2-proposition-recue")
    accept(gatine, story)
    follow_the_case_to_installation(gatine, story)
    screenshot(gatine, "histoire-3-entreprise-installee")

    # 3. The plot is sold, for anyone who opens it; the project that settled there is named
    # to those in the know only.
    third = signed_in(THIRD_REFERENT)
    for page in (gatine, third):
        expect(plot_stage(page, live_server, story.terr_id)).to_have_text(SOLD)
    expect(gatine.locator("#projet-installe")).to_have_text(f"Projet n°\u00a0{story.prospect_id}")
    expect(third.locator("#projet-installe")).to_have_count(0)

    # 4. The agreement: recorded by Gâtine-Racan, signed by both, its PDF kept.
    gatine.goto(f"{live_server}{story.project_path}")
    record_agreement(gatine, story)
    sign_for_own_epci(gatine, GATINE_RACAN, story)
    expect(success(gatine)).to_have_text(
        "Signature enregistrée. La convention attend la signature des autres parties."
    )
    metropole.goto(f"{live_server}/")
    open_menu(metropole, "Conventions")
    metropole.locator(f"#conventions tr[data-agreement-id='{story.agreement_id}'] a").click()
    sign_for_own_epci(metropole, METROPOLE, story)
    expect(success(metropole)).to_have_text(
        "Signature enregistrée : toutes les parties ont signé, la convention est signée."
    )
    expect(metropole.locator(".statut-convention")).to_have_text("Signée")
    attach_and_download_pdf(metropole, story)
    screenshot(metropole, "histoire-4-convention-signee")
    # The project now names its agreement instead of offering to record one.
    metropole.goto(f"{live_server}{story.project_path}")
    expect(metropole.locator(f"#accord-{story.redirection_id}")).to_contain_text(
        f"Convention n° {story.agreement_id} (signée)"
    )
    # The other party downloads the same file.
    gatine.reload()
    with gatine.expect_download() as download:
        gatine.locator("#telecharger-document").click()
    with open(download.value.path(), "rb") as saved:
        assert saved.read() == SIGNED_PDF

    # 5. A third EPCI reads the anonymised card, and the company's name nowhere; the pages it
    # checks do name the company for a party, so their silence is the rule at work.
    for path in ("/redirections", "/conventions/registre", "/projets/export.csv"):
        assert story.token in gatine.request.get(f"{live_server}{path}").text(), path
    third_epci_sees_only_the_card(third, live_server, story, screenshot)
    partner_sees_the_redirection_unnamed(signed_in(PARTNER_EMAIL), story)
