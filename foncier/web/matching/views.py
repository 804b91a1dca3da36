"""The search pages: needs form and ranked plots, comparison of plots, printable sheet.

Every page reads the needs from its query string (the search form is a GET form), so that a
search, a comparison or a sheet is a link a referent can send. The engine does the work
(foncier.matching); these views only read the form and lay the answers out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from flask import Blueprint, render_template, request, url_for
from geoalchemy2.shape import to_shape
from sqlalchemy.orm import Session

from foncier.inventory.queries import TerrainDetail, get_terrain_detail
from foncier.matching import (
    CRITERIA,
    DEFAULT_WEIGHTS,
    Criterion,
    MatchedPlot,
    MatchResult,
    Needs,
    NeedsError,
    WhyNot,
    parse_needs,
)
from foncier.matching.scoring import NETWORK_LABELS
from foncier.territory.epcis import list_epcis
from foncier.web.api.views import MAX_LIMIT as API_MAX_LIMIT
from foncier.web.api.views import MAX_SIMPLIFY_M
from foncier.web.database import db_session
from foncier.web.formatting import UNITS, plural
from foncier.web.inventory.views import ID_PLACEHOLDER, PLOTS_MIN_ZOOM, map_config
from foncier.web.matching.examples import EXAMPLES
from foncier.web.matching.explaining import Scan, explain, ranking, scan
from foncier.web.matching.forms import LIMIT_STEP, MAX_LIMIT, WEIGHT_PREFIX, NeedsForm
from foncier.web.matching.outline import outline_of
from foncier.web.matching.presenting import (
    CONSTRAINT_LABELS,
    RAW_KINDS,
    Fact,
    exclusion_sentence,
    exclusions,
    plot_facts,
    raw_text,
    score_text,
    weight_text,
    without,
)

matching = Blueprint("matching", __name__)
for _helper in (raw_text, score_text, weight_text, exclusion_sentence):
    matching.add_app_template_global(_helper)
matching.add_app_template_global(CONSTRAINT_LABELS, "constraint_labels")

# A comparison lays plots side by side: beyond four, columns get too narrow to read.
COMPARED_MIN: Final = 2
COMPARED_MAX: Final = 4


@dataclass(frozen=True)
class Search:
    """A search as the pages show it: the form, and when it could run, its answers."""

    form: NeedsForm
    needs: Needs | None
    # (SIREN, name) of the EPCIs: the form's choices, and the names shown beside results.
    epcis: list[tuple[str, str]]

    @property
    def query(self) -> dict[str, list[str]]:
        return self.form.query()


def read_search(session: Session) -> Search:
    """The needs typed in the query string, checked by the form then by the engine."""
    form = NeedsForm(formdata=request.args)
    epcis = list_epcis(session)
    form.set_epcis(epcis)
    if not form.submitted:
        return Search(form, None, epcis)
    form.validate()
    # The engine checks what the form could read, so that every mistake shows at once.
    try:
        needs = parse_needs(form.needs_data())
    except NeedsError as error:
        form.show_issues(error.issues)
        return Search(form, None, epcis)
    return Search(form, None if form.has_errors() else needs, epcis)


@matching.get("/recherche")
def search() -> tuple[str, int]:
    session = db_session()
    current = read_search(session)
    limit = current.form.result_limit()
    # One pass over the plots on offer serves the ranking and « pourquoi pas ? ».
    scanned = scan(session, current.needs) if current.needs else None
    result = ranking(session, scanned, limit) if scanned else None
    epci_names = dict(current.epcis)
    why = _why_not_answer(session, scanned, request.args.get("pourquoi", "").strip())
    status = 400 if current.form.has_errors() else 200
    return render_template(
        "matching/search.html",
        form=current.form,
        query=current.query,
        result=result,
        why=why,
        examples=EXAMPLES,
        epci_names=epci_names,
        exclusions=exclusions(result.excluded, current.query) if result else [],
        without=without,
        more_limit=_more_limit(current.form, result),
        default_weights=DEFAULT_WEIGHTS,
        map_config=_search_map(),
        page_config=_page_config(current, result, epci_names),
    ), status


@dataclass(frozen=True)
class WhyNotAnswer:
    """The « pourquoi pas ? » box: the plot asked about and what the engine says of it."""

    terr_id: str
    answer: WhyNot | None  # None: no such plot


def _why_not_answer(session: Session, scanned: Scan | None, terr_id: str) -> WhyNotAnswer | None:
    if scanned is None or not terr_id:
        return None
    answers = explain(session, scanned.needs, [terr_id], lambda: scanned)
    return WhyNotAnswer(terr_id, answers.get(terr_id))


def _more_limit(form: NeedsForm, result: MatchResult | None) -> int | None:
    """The number of results the « more » link asks for; None when all are shown."""
    limit = form.result_limit()
    if result is None or limit >= MAX_LIMIT or result.candidates <= limit:
        return None
    return min(limit + LIMIT_STEP, MAX_LIMIT)


def _search_map() -> dict[str, Any]:
    """The inventory's map (map.js): EPCIs, zones, every plot from the plot zoom; the
    page's script adds the ranked candidates on top."""
    return map_config(
        [
            {"kind": "epci", "url": url_for("api.epci_collection", limit=API_MAX_LIMIT)},
            {
                "kind": "zone",
                "url": url_for("api.zone_collection", limit=API_MAX_LIMIT),
                "byBbox": True,
                "simplifyMax": MAX_SIMPLIFY_M,
            },
            {
                "kind": "terrain",
                "url": url_for("api.terrain_collection", limit=API_MAX_LIMIT),
                "byBbox": True,
                "minZoom": PLOTS_MIN_ZOOM,
            },
        ],
        fit=["epci"],
    )


def _page_config(
    current: Search, result: MatchResult | None, epci_names: dict[str, str]
) -> dict[str, Any]:
    """What matching.js needs to re-rank with other weights and to ask « pourquoi pas ? »."""
    return {
        "needs": current.needs.to_json() if current.needs else None,
        "limit": current.form.result_limit(),
        # What the map's markers need; a new ranking brings the API's full answer.
        "result": {"results": [_marker(plot) for plot in result.results]} if result else None,
        "criteria": [{"name": spec.name, "label": spec.label} for spec in CRITERIA],
        "defaultWeights": DEFAULT_WEIGHTS,
        "weightPrefix": WEIGHT_PREFIX,
        "epciNames": epci_names,
        "constraintLabels": CONSTRAINT_LABELS,
        "rawKinds": RAW_KINDS,
        "units": {
            kind: {"unit": unit, "decimals": decimals} for kind, (unit, decimals) in UNITS.items()
        },
        "networkLabels": NETWORK_LABELS,
        "api": {
            "match": url_for("api.match_plots"),
            "whyNot": url_for("api.why_not_plot", terr_id=ID_PLACEHOLDER),
        },
        "pages": {
            "search": url_for("matching.search"),
            "terrain": url_for("inventory.terrain", terr_id=ID_PLACEHOLDER),
            "site": url_for("inventory.site", site_id=ID_PLACEHOLDER),
            "sheet": url_for("matching.sheet", terr_id=ID_PLACEHOLDER),
        },
    }


def _marker(plot: MatchedPlot) -> dict[str, Any]:
    return {
        "rank": plot.rank,
        "terr_id": plot.terr_id,
        "site_nom": plot.site_nom,
        "lon": plot.lon,
        "lat": plot.lat,
    }


@matching.get("/recherche/comparer")
def compare() -> tuple[str, int]:
    session = db_session()
    current = read_search(session)
    chosen = (value.strip() for value in request.args.getlist("terr"))
    terr_ids = list(dict.fromkeys(value for value in chosen if value))
    refusal = None
    if not COMPARED_MIN <= len(terr_ids) <= COMPARED_MAX:
        refusal = (
            f"Cochez de {COMPARED_MIN} à {COMPARED_MAX} terrains à comparer dans les résultats "
            f"({plural(len(terr_ids), 'terrain coché', 'terrains cochés')})."
        )
        terr_ids = []
    today = date.today()
    # Plots failing a hard constraint need no scan; the others share one.
    needs = current.needs
    whys = explain(session, needs, terr_ids, lambda: scan(session, needs)) if needs else {}
    plots = [_plot_view(session, terr_id, whys, today) for terr_id in terr_ids]
    return render_template(
        "matching/compare.html",
        plots=plots,
        refusal=refusal,
        query=current.query,
        needs=current.needs,
        criteria=CRITERIA,
    ), (400 if refusal else 200)


@dataclass(frozen=True)
class PlotView:
    """A plot for the comparison and the sheet: its detail, facts and (with needs) its score."""

    detail: TerrainDetail
    facts: list[Fact]
    why: WhyNot | None

    def criterion(self, name: str) -> Criterion | None:
        """The plot's evaluation on criterion ``name`` (None when not scored)."""
        if self.why is None or not self.why.criteria:
            return None
        return next(criterion for criterion in self.why.criteria if criterion.name == name)


def _plot_view(session: Session, terr_id: str, whys: dict[str, WhyNot], today: date) -> PlotView:
    """The plot ``terr_id`` (404 when unknown), explained by ``whys`` (see explaining)."""
    # No actor: the company's sheet never carries owners nor the sale, whoever prints it.
    detail = get_terrain_detail(session, terr_id, None)
    return PlotView(detail=detail, facts=plot_facts(detail, today), why=whys.get(terr_id))


@matching.get("/recherche/fiche/<terr_id>")
def sheet(terr_id: str) -> str:
    session = db_session()
    current = read_search(session)
    needs = current.needs
    whys = explain(session, needs, [terr_id], lambda: scan(session, needs)) if needs else {}
    plot = _plot_view(session, terr_id, whys, date.today())
    return render_template(
        "matching/sheet.html",
        plot=plot,
        outline=outline_of(to_shape(plot.detail.terrain.terr_geomsurf)),
        query=current.query,
        needs=current.needs,
        today=date.today(),
    )
