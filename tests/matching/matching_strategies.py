"""Hypothesis strategies for plots and needs, on coarse grids so that "strictly better"
stays strictly better after floating-point arithmetic."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from foncier.matching import PlotFacts, parse_needs
from foncier.matching.scoring import NETWORKS
from foncier.models import codelists

REFERENCE_DATE = date(2026, 9, 1)
# Around Tours, in Lambert-93.
TOURS_X, TOURS_Y = 525_000.0, 6_700_000.0
VOCATIONS = [v for v in codelists.SITE_VOCADOMI if v not in codelists.CONVENTIONAL]


def grid(low: float, high: float, step: float) -> st.SearchStrategy[float]:
    return st.integers(round(low / step), round(high / step)).map(lambda n: round(n * step, 6))


def days_from_reference(low: int, high: int) -> st.SearchStrategy[date]:
    return st.integers(low, high).map(lambda days: REFERENCE_DATE + timedelta(days=days))


# Built once: a strategy built inside a composite is built and validated again at every draw,
# which is most of the time these tests take.
TERR_IDS = st.from_regex(r"37[0-9]{3}_TERRAIN-ECO_[0-9]{5}", fullmatch=True)
SURFACES_HA = grid(0.1, 20, 0.01)
PRICES = st.none() | grid(1, 120, 0.5)
STADES_COMM = st.sampled_from(codelists.TERR_STADE_COMM)
STADES_AMNGT = st.sampled_from(codelists.TERR_STADE_AMNGT)
ICPE = st.none() | st.sampled_from(codelists.ICPE_REGIMES)
NETWORK_SETS = st.sets(st.sampled_from(NETWORKS))
POWERS = st.none() | grid(0, 6000, 10)
AVAILABILITIES = st.none() | days_from_reference(-400, 1500)
TURNKEY = st.none() | st.booleans()
HEIGHTS = st.none() | grid(3, 40, 0.5)
MOTORWAY_KM = st.none() | grid(0, 60, 0.1)
OFFSETS_M = grid(-60_000, 60_000, 100)
ZONE_SETS = st.sets(st.sampled_from(codelists.ZONE_TYPES))
SITE_VOCATIONS = st.sampled_from(codelists.SITE_VOCADOMI)


@st.composite
def plots(draw: st.DrawFn, terr_id: str | None = None) -> PlotFacts:
    surface = draw(SURFACES_HA)
    divisible = draw(st.booleans())
    lot_min = draw(st.none() | grid(0.05, surface, 0.01)) if divisible else None
    return PlotFacts(
        terr_id=terr_id or draw(TERR_IDS),
        site_id="37000_SITE-ECO_00001",
        surface_ha=surface,
        divisible=divisible,
        lot_min_ha=lot_min,
        price_eur_m2=draw(PRICES),
        stade_comm=draw(STADES_COMM),
        stade_amngt=draw(STADES_AMNGT),
        icpe_max=draw(ICPE),
        networks=frozenset(draw(NETWORK_SETS)),
        power_kva=draw(POWERS),
        available_from=draw(AVAILABILITIES),
        turnkey=draw(TURNKEY),
        height_max_m=draw(HEIGHTS),
        motorway_km=draw(MOTORWAY_KM),
        x=TOURS_X + draw(OFFSETS_M),
        y=TOURS_Y + draw(OFFSETS_M),
        zone_types=frozenset(draw(ZONE_SETS)),
        vocation=draw(SITE_VOCATIONS),
    )


def optional(key: str, values: st.SearchStrategy) -> st.SearchStrategy[dict]:
    return st.none() | values.map(lambda value: {key: value})


NEEDS_PARTS = [
    optional("budget_max_eur_m2", grid(5, 60, 0.5)),
    optional("budget_is_hard", st.booleans()),
    optional("vocation", st.sampled_from(VOCATIONS)),
    optional("icpe_regime", st.sampled_from(codelists.ICPE_REGIMES)),
    optional("networks_required", st.lists(st.sampled_from(NETWORKS), max_size=2, unique=True)),
    optional("networks_wanted", st.lists(st.sampled_from(NETWORKS), min_size=1, unique=True)),
    optional("power_min_kva", grid(50, 2500, 50)),
    optional("motorway_max_km", grid(0.5, 20, 0.5)),
    optional("needed_by", days_from_reference(-30, 1200).map(date.isoformat)),
    optional("turnkey_required", st.booleans()),
    optional("height_min_m", grid(4, 30, 1)),
    optional(
        "near",
        st.fixed_dictionaries(
            {"lat": grid(46.9, 47.7, 0.01), "lon": grid(0.1, 1.3, 0.01)},
            optional={"max_km": grid(2, 60, 1)},
        ),
    ),
    optional("avoid_zones", st.lists(st.sampled_from(codelists.ZONE_TYPES), unique=True)),
    optional(
        "weights",
        st.dictionaries(
            st.sampled_from(["surface", "prix", "autoroute", "proximite"]), grid(0, 3, 0.25)
        ),
    ),
]
SURFACES_MIN_HA = grid(0.1, 8, 0.1)
SURFACE_MARGINS_HA = grid(0, 6, 0.1)


@st.composite
def needs_data(draw: st.DrawFn) -> dict:
    """Needs as JSON data, over the ranges of the demo inventory."""
    data: dict = {"surface_min_ha": draw(SURFACES_MIN_HA), "reference_date": "2026-09-01"}
    if draw(st.booleans()):
        data["surface_max_ha"] = round(data["surface_min_ha"] + draw(SURFACE_MARGINS_HA), 6)
    for part in NEEDS_PARTS:
        data.update(draw(part) or {})
    return data


def valid_needs() -> st.SearchStrategy:
    """Parsed needs (the criteria overridable here never silence every criterion)."""
    return needs_data().map(parse_needs)
