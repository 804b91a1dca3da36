"""A refusal says why, in French, on the page; the API keeps its JSON errors."""

from __future__ import annotations

from seed.accounts import PARTNER_EMAIL

POLAXIS_EDIT = "/sites/37167_SITE-ECO_00005/modifier"
TOURS_REFERENT = "referent.tours-metropole-val-de-loire@demo.foncier.test"


def test_a_referent_of_another_epci_reads_why_the_edit_page_is_refused(client_for, get_page):
    page = get_page(POLAXIS_EDIT, through=client_for(TOURS_REFERENT))
    assert page.status == 403
    assert "Accès refusé" in page.text and "il relève d’un autre EPCI que le vôtre" in page.text


def test_a_partner_reads_that_the_role_is_read_only(client_for, get_page):
    page = get_page(POLAXIS_EDIT, through=client_for(PARTNER_EMAIL))
    assert page.status == 403 and "Partenaire (lecture seule)" in page.text
