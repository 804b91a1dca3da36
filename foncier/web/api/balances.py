"""The balances between territories as JSON for scripts: GET /api/reseau/bilans?du=&au=
(docs/meetings.md says what each figure counts). Counts and sums only, never a company:
every signed-in member reads them."""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from flask import Response, jsonify, request

from foncier.inventory.features import InvalidParameterError
from foncier.meetings.balances import Period, balances, this_year
from foncier.web.api.views import api, check_parameters
from foncier.web.database import db_session

# ISO 8601 calendar dates only: date.fromisoformat() also takes 20200301 or 2020-W10-1.
ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@api.get("/reseau/bilans")
def network_balances() -> Response:
    """?du=YYYY-MM-DD&au=YYYY-MM-DD (both included; from 1 January of this year to today
    by default) -> each EPCI's balance and the flows between EPCIs."""
    check_parameters(frozenset({"du", "au"}))
    default = this_year()
    du = _date("du", default.du)
    au = _date("au", default.au)
    try:
        period = Period(du, au)
    except ValueError as error:
        raise InvalidParameterError(str(error)) from None
    return jsonify(balances(db_session(), period).to_json())


def _date(name: str, default: date) -> date:
    text = request.args.get(name)
    if text is None:
        return default
    try:
        if ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:  # 2020-02-30
        pass
    raise InvalidParameterError(f"{name} must be a date as YYYY-MM-DD, not {text!r}")
