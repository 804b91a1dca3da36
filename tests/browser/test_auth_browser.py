"""Accounts in a real Chromium: the coordinator invites a référent, who chooses a password
through the one-time link and is signed in."""

from __future__ import annotations

import pytest
from browser_helpers import sign_in_browser
from playwright.sync_api import Browser, expect
from web_helpers import unique_email

from seed.accounts import COORDINATOR_EMAIL

pytestmark = pytest.mark.browser

GATINE_RACAN = "200073237"
NEW_PASSWORD = "une autre phrase, plus longue"


def test_a_new_referent_is_invited_chooses_a_password_and_signs_in(
    chromium: Browser, live_server, screenshot
):
    email = unique_email("navigateur")
    coordinator = chromium.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    newcomer = chromium.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    try:
        page = coordinator.new_page()
        sign_in_browser(page, live_server, COORDINATOR_EMAIL)
        page.get_by_role("link", name="Comptes").click()
        page.get_by_role("link", name="Créer un compte").click()
        # A référent without an EPCI: refused beside the field, what was typed kept.
        page.get_by_label("Adresse électronique").fill(email)
        page.get_by_label("Nom").fill("Noé Navigateur")
        page.get_by_label("Rôle").select_option("referent")
        page.get_by_role("button", name="Créer le compte et envoyer le lien").click()
        expect(
            page.get_by_text("Un référent est rattaché à un EPCI : choisissez-le.")
        ).to_be_visible()
        expect(page.get_by_label("Nom")).to_have_value("Noé Navigateur")
        screenshot(page, "auth-account-form-refused")
        page.get_by_label("Adresse électronique").fill(email)
        page.get_by_label("Nom").fill("Noé Navigateur")
        page.get_by_label("Rôle").select_option("referent")
        page.get_by_label("EPCI du référent").select_option(GATINE_RACAN)
        page.get_by_role("button", name="Créer le compte et envoyer le lien").click()
        expect(page.get_by_role("heading", name="Compte créé")).to_be_visible()
        screenshot(page, "auth-account-created")
        link = page.locator("#lien-mot-de-passe").inner_text()
        page.get_by_role("link", name="Retour à la liste des comptes").click()
        expect(page.locator(f'tr[data-user-email="{email}"]')).to_contain_text("en attente")
        screenshot(page, "auth-accounts")

        own = newcomer.new_page()
        own.goto(link)
        own.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
        own.get_by_label("Confirmation du nouveau mot de passe").fill(NEW_PASSWORD)
        own.get_by_role("button", name="Enregistrer le mot de passe").click()
        expect(own.get_by_text("Votre mot de passe est enregistré.")).to_be_visible()
        expect(own.locator(".compte-nom")).to_contain_text("Noé Navigateur")
        screenshot(own, "auth-password-chosen")
    finally:
        coordinator.close()
        newcomer.close()
