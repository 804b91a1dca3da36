"""Form markup: accessible attributes are either meaningful or absent, never "None"."""

from __future__ import annotations

import pytest

from seed.accounts import COORDINATOR_EMAIL

FORM_PAGES = [
    "/connexion",
    "/mot-de-passe",
    "/comptes/nouveau",
    "/sites/nouveau",
    "/sites/37167_SITE-ECO_00005/modifier",
    "/sites/37167_SITE-ECO_00005/terrains/nouveau",
    "/imports-exports",
]


@pytest.mark.parametrize("url", FORM_PAGES)
def test_no_attribute_reads_none(client_for, url):
    response = client_for(COORDINATOR_EMAIL).get(url)
    assert response.status_code == 200, url
    page = response.get_data(as_text=True)
    assert "<form" in page and '="None"' not in page


def test_a_refused_field_is_marked_invalid_and_described_by_its_message(client_for):
    client = client_for(COORDINATOR_EMAIL)
    page = client.get("/sites/37167_SITE-ECO_00005/terrains/nouveau").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    refused = client.post(
        "/sites/37167_SITE-ECO_00005/terrains/nouveau", data={"csrf_token": token}
    ).get_data(as_text=True)
    assert 'aria-describedby="terr_surf_brute-erreurs"' in refused
    assert 'aria-invalid="true"' in refused and '="None"' not in refused
