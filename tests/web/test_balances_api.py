"""GET /api/reseau/bilans: the balances between territories as JSON (foncier.web.api.balances):
a partner reads them and no company appears; the period by default; every parameter that
cannot be understood is a 400 in the API's error format."""

from __future__ import annotations

from datetime import datetime

import pytest
from case_helpers import COMPANY, GATINE_RACAN, METROPOLE, accepted_redirection

from foncier.inventory.history import LOCAL_TIME
from foncier.models import Prospect

URL = "/api/reseau/bilans"


def test_a_partner_reads_the_balances_and_no_company(session, client):
    redirection = accepted_redirection(session, jobs_created=12)
    session.get(Prospect, redirection.prospect_id).company_siren = "123456789"
    session.flush()
    response = client.get(URL)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    today = datetime.now(LOCAL_TIME).date()
    assert (body["du"], body["au"]) == (f"{today.year}-01-01", today.isoformat())
    assert {"from": METROPOLE, "to": GATINE_RACAN, "proposed": 1, "accepted": 1,
            "installed": 1} in body["flows"]  # fmt: skip
    served = response.get_data(as_text=True)
    assert COMPANY not in served and "123456789" not in served


def test_the_period_is_read_from_du_and_au(session, client):
    accepted_redirection(session)
    body = client.get(f"{URL}?du=2019-01-01&au=2019-12-31").get_json()
    assert (body["du"], body["au"], body["flows"]) == ("2019-01-01", "2019-12-31", [])
    assert {epci["sent"] for epci in body["epcis"]} == {0}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("du=2020-02-30", "du must be a date as YYYY-MM-DD, not '2020-02-30'"),
        ("au=20200301", "au must be a date as YYYY-MM-DD, not '20200301'"),
        ("du=hier", "du must be a date as YYYY-MM-DD"),
        ("du=2020-03-02&au=2020-03-01", "the period starts (2020-03-02) after it ends"),
        ("depuis=2020-01-01", "unknown parameter 'depuis' (expected: au, du)"),
        ("du=2020-01-01&du=2021-01-01", "du must be given once, not repeated"),
    ],
)
def test_what_cannot_be_understood_is_a_400(client, query, message):
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "Bad Request" and message in body["description"]


def test_only_the_signed_in_read_the_balances(anonymous_client):
    assert anonymous_client.get(URL).status_code == 401
