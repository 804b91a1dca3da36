"""The page of the balances between territories (/reseau/bilans): per EPCI and between EPCIs
over a period. Thin: foncier.meetings.balances counts (docs/meetings.md says what), and every
signed-in member reads it since balances carry no company. A period that cannot be read is
a 400 with the message under its field. The charts and the flow map (static/js/balances.js)
draw the same figures as the tables, handed over in a JSON script element."""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, render_template, request

from foncier.meetings.balances import (
    NEUTRALITY_THRESHOLD,
    Balances,
    Quarter,
    balances,
    epci_centres,
    proposed_by_quarter,
    this_year,
)
from foncier.web.database import db_session
from foncier.web.inventory.views import basemap_config
from foncier.web.meetings.forms import PeriodForm

meetings = Blueprint("meetings", __name__, url_prefix="/reseau")

INVALID: Final = 400


@meetings.get("/bilans", endpoint="balances")
def balances_page() -> tuple[str, int]:
    default = this_year()
    form = PeriodForm(formdata=request.args, du=default.du, au=default.au)
    if not form.validate():
        return render_template("meetings/balances.html", form=form, figures=None), INVALID
    session = db_session()
    figures = balances(session, form.period())
    quarters = proposed_by_quarter(session, figures.period)
    names = {epci.siren: epci.nom for epci in figures.epcis}
    return render_template(
        "meetings/balances.html",
        form=form,
        figures=figures,
        names=names,
        threshold_points=round(NEUTRALITY_THRESHOLD * 100),
        charts=charts_config(figures, quarters, epci_centres(session)),
    ), 200


def charts_config(
    figures: Balances, quarters: list[Quarter], centres: dict[str, tuple[float, float]]
) -> dict[str, Any]:
    """What static/js/balances.js draws: the EPCIs' bars, the flows between their centres
    ([latitude, longitude]) and the trend by quarter."""
    return {
        "basemap": basemap_config(),
        "comparable": figures.comparable,
        "epcis": [
            {
                "siren": epci.siren,
                "nom": epci.nom,
                "sent": epci.sent,
                "received": epci.received,
                "land_share": epci.land_share,
                "exposure_share": epci.exposure_share,
                "centre": centres[epci.siren],
            }
            for epci in figures.epcis
        ],
        "flows": [flow.to_json() for flow in figures.flows],
        "quarters": [{"label": q.label, "proposed": q.proposed} for q in quarters],
    }
