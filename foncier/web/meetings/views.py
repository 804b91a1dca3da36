"""The page of the balances between territories (/reseau/bilans): per EPCI and between EPCIs
over a period. Thin: foncier.meetings.balances counts (docs/meetings.md says what), and every
signed-in member reads it since balances carry no company. A period that cannot be read is
a 400 with the message under its field."""

from __future__ import annotations

from typing import Final

from flask import Blueprint, render_template, request

from foncier.meetings.balances import NEUTRALITY_THRESHOLD, balances, this_year
from foncier.web.database import db_session
from foncier.web.meetings.forms import PeriodForm

meetings = Blueprint("meetings", __name__, url_prefix="/reseau")

INVALID: Final = 400


@meetings.get("/bilans", endpoint="balances")
def balances_page() -> tuple[str, int]:
    default = this_year()
    form = PeriodForm(formdata=request.args, du=default.du, au=default.au)
    if not form.validate():
        return render_template("meetings/balances.html", form=form, figures=None), INVALID
    figures = balances(db_session(), form.period())
    names = {epci.siren: epci.nom for epci in figures.epcis}
    return render_template(
        "meetings/balances.html",
        form=form,
        figures=figures,
        names=names,
        threshold_points=round(NEUTRALITY_THRESHOLD * 100),
    ), 200
