"""The matching engine: a candidate query in PostgreSQL, the pure scorer in numpy, the top N.

A search reads ``matching_plot`` (one narrow row per plot on offer, kept by triggers in the
same transaction as every edit, see foncier.models.matching):

1. one statement, one pass over the plots on offer (``scan_offer``), computes each plot's
   first failed hard constraint, counts the excluded plots per constraint (plots not on offer
   are counted from ``matching_plot_count``, in the same statement, hence the same snapshot)
   and brings the candidates' packed facts into numpy, without a Python object per plot;
2. the scorer (foncier.matching.scoring.score_arrays) scores them all, and argpartition picks
   the best ``limit``, ties broken by ``scoring.tie_key``;
3. for those only, the park's name and EPCI (for display) and the facts the one-plot scorer
   explains are read through the ORM. These are later statements: under READ COMMITTED a
   plot deleted meanwhile by another transaction is no longer there, and is left out of the
   results (the others keep their order) instead of failing the search.

The hard constraints exist twice: as SQL conditions here and as ``scoring.hard_failures``,
which explains a refusal; tests check that both agree. Neither the candidate query nor the
scorer reads the EPCI: ``epci_siren`` is fetched for the final results only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    LargeBinary,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from foncier.core.errors import NotFoundError
from foncier.matching import scoring
from foncier.matching.needs import Near, Needs
from foncier.matching.scoring import (
    HARD_CONSTRAINT_NAMES,
    Criterion,
    Failure,
    PlotArrays,
    PlotFacts,
)
from foncier.models import ConstraintZone, MatchingPlot, MatchingPlotCount, Site, Terrain
from foncier.models.base import WGS84
from foncier.models.codelists import STADES_DISPONIBLES

log = logging.getLogger(__name__)

DEFAULT_LIMIT: Final = 20
# Scores are shown with 6 decimals; ranking uses the unrounded scores.
DISPLAY_DECIMALS: Final = 6


@dataclass(frozen=True)
class MatchedPlot:
    rank: int
    terr_id: str
    site_id: str
    site_nom: str
    epci_siren: str
    score: float
    criteria: list[Criterion]
    lon: float
    lat: float

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "terr_id": self.terr_id,
            "site_id": self.site_id,
            "site_nom": self.site_nom,
            "epci_siren": self.epci_siren,
            "score": round(self.score, DISPLAY_DECIMALS),
            "criteria": [criterion.to_json() for criterion in self.criteria],
            "lon": round(self.lon, 6),
            "lat": round(self.lat, 6),
        }


@dataclass(frozen=True)
class MatchResult:
    needs: Needs
    weights: dict[str, float]
    results: list[MatchedPlot]
    excluded: dict[str, int]
    candidates: int
    available: int
    plots: int

    def to_json(self) -> dict[str, Any]:
        return {
            "needs": self.needs.to_json(),
            "weights": {
                name: round(weight, DISPLAY_DECIMALS) for name, weight in self.weights.items()
            },
            "results": [result.to_json() for result in self.results],
            "excluded": dict(self.excluded),
            "candidates": self.candidates,
            "available": self.available,
            "plots": self.plots,
        }


@dataclass(frozen=True)
class WhyNot:
    terr_id: str
    failed: list[Failure]
    rank: int | None = None
    candidates: int | None = None
    score: float | None = None
    criteria: list[Criterion] | None = None

    @property
    def eligible(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "terr_id": self.terr_id,
            "eligible": self.eligible,
            "failed": [failure.to_json() for failure in self.failed],
        }
        if self.eligible:
            assert self.score is not None and self.criteria is not None
            data["rank"] = self.rank
            data["candidates"] = self.candidates
            data["score"] = round(self.score, DISPLAY_DECIMALS)
            data["criteria"] = [criterion.to_json() for criterion in self.criteria]
        return data


@contextmanager
def _timed(step: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    log.debug("match %s: %.1f ms", step, (time.perf_counter() - start) * 1000)


# --- The candidate query -------------------------------------------------------------------


def hard_conditions(needs: Needs) -> list[tuple[str, ColumnElement[bool]]]:
    """The hard constraints the needs ask for, as SQL conditions on ``matching_plot``, in the
    order of HARD_CONSTRAINT_NAMES; each is true or false, never NULL (unknown fails)."""
    plot = MatchingPlot
    conditions: list[tuple[str, ColumnElement[bool]]] = []
    surface: ColumnElement[bool] = plot.surface_ha >= needs.surface_min_ha
    if needs.surface_max_ha is not None:
        surface = and_(surface, plot.smallest_lot_ha <= needs.surface_max_ha)
    conditions.append(("surface", surface))
    regime = scoring.icpe_rank(needs.icpe_regime)
    if regime > 0:
        conditions.append(("icpe", plot.icpe_rank >= regime))
    networks = scoring.network_mask(needs.networks_required)
    if networks:
        conditions.append(("reseaux", plot.networks.op("&")(networks) == networks))
    if needs.power_min_kva is not None:
        conditions.append(("puissance", _known(plot.power_kva >= needs.power_min_kva)))
    if needs.needed_by is not None:
        conditions.append(("date", plot.available_day <= needs.needed_by.toordinal()))
    if needs.turnkey_required:
        conditions.append(("cle_en_main", plot.turnkey.is_(True)))
    if needs.budget_is_hard and needs.budget_max_eur_m2 is not None:
        conditions.append(("budget", _known(plot.price_eur_m2 <= needs.budget_max_eur_m2)))
    if needs.height_min_m is not None:
        conditions.append(
            ("hauteur", or_(plot.height_max_m.is_(None), plot.height_max_m >= needs.height_min_m))
        )
    if needs.motorway_max_km is not None:
        conditions.append(("autoroute", _known(plot.motorway_km <= needs.motorway_max_km)))
    if needs.near is not None and needs.near.max_km is not None:
        conditions.append(("proximite", _within_radius(needs.near)))
    zones = scoring.zone_mask(needs.avoid_zones)
    if zones:
        conditions.append(("zones", plot.zones.op("&")(zones) == 0))
    return conditions


def _within_radius(near: Near) -> ColumnElement[bool]:
    """scoring.within_radius in SQL: the same float operations, in the same order."""
    radius = (near.max_km or 0.0) * 1000.0
    dx, dy = MatchingPlot.x - near.x, MatchingPlot.y - near.y
    return dx * dx + dy * dy <= radius * radius


def _known(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """A comparison with an unknown (NULL) value fails instead of being NULL."""
    return func.coalesce(condition, false())


# The scorer's numbers as packed in matching_plot.facts (sql/views/matching_plot_source_v1.sql);
# "codes" holds the networks mask, and the development-stage and vocation codes above it.
PACKED_FACTS: Final = (
    "surface_ha",
    "smallest_lot_ha",
    "price_eur_m2",
    "motorway_km",
    "available_day",
    "power_kva",
    "x",
    "y",
    "codes",
)
# terr_id is at most 23 characters (CNIG): padded to that, the ids travel as one string.
TERR_ID_WIDTH: Final = 23


class PaddedIds(Sequence[str]):
    """terr_ids read from one string of fixed-width, space-padded ids, without a Python
    string per plot until one is asked for."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __len__(self) -> int:
        return len(self._text) // TERR_ID_WIDTH

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        if not 0 <= index < len(self):
            raise IndexError(index)
        start = index * TERR_ID_WIDTH
        return self._text[start : start + TERR_ID_WIDTH].rstrip(" ")

    def position(self, terr_id: str) -> int | None:
        padded = terr_id.ljust(TERR_ID_WIDTH)
        start = self._text.find(padded)
        while start >= 0 and start % TERR_ID_WIDTH:
            start = self._text.find(padded, start + 1)
        return None if start < 0 else start // TERR_ID_WIDTH


@dataclass(frozen=True)
class Offer:
    """One pass over the plots on offer: the candidates and why the others were excluded."""

    candidates: PlotArrays
    # Plots excluded, under their first failed hard constraint (HARD_CONSTRAINT_NAMES order).
    excluded: dict[str, int]
    available: int
    plots: int


def scan_offer(session: Session, needs: Needs) -> Offer:
    """Read every plot on offer once: count each excluded plot under its first failed hard
    constraint, and bring the candidates' facts (packed) and ids into numpy.

    The excluded counts need every plot on offer anyway, so one sequential pass over the
    narrow table beats index look-ups followed by a counting pass. The first failure is
    computed once per plot in a subquery that OFFSET 0 keeps from being merged into the
    aggregates (which would compute it once per aggregate).
    """
    conditions = hard_conditions(needs)
    failure = case(
        *[(not_(condition), code) for code, (_, condition) in enumerate(conditions, start=1)],
        else_=0,
    )
    per_plot = (
        select(failure.label("failure"), MatchingPlot.facts, MatchingPlot.terr_id)
        .offset(0)
        .subquery()
    )
    passes = per_plot.c.failure == 0
    plots = select(
        cast(func.coalesce(func.sum(MatchingPlotCount.delta), 0), BigInteger)
    ).scalar_subquery()
    query = select(
        plots,
        func.count(),
        func.string_agg(per_plot.c.facts, literal(b"", LargeBinary)).filter(passes),
        func.string_agg(func.rpad(per_plot.c.terr_id, TERR_ID_WIDTH), literal("")).filter(passes),
        *[
            func.count().filter(per_plot.c.failure == code)
            for code in range(1, len(conditions) + 1)
        ],
    )
    plots, available, facts, terr_ids, *counts = _fetch_binary(session, query)
    excluded = dict.fromkeys(HARD_CONSTRAINT_NAMES, 0)
    excluded["disponibilite"] = plots - available
    for (name, _), count in zip(conditions, counts, strict=True):
        excluded[name] = count
    return Offer(_unpack(facts or b"", terr_ids or ""), excluded, available, plots)


def _fetch_binary(session: Session, query: Select[Any]) -> tuple[Any, ...]:
    """The one row of ``query``, in the session's transaction, transferred in binary: the
    packed facts arrive as bytes, not as hexadecimal text to decode."""
    compiled = query.compile(dialect=session.get_bind().dialect)
    driver = session.connection().connection.driver_connection
    row = driver.execute(str(compiled), compiled.params, binary=True).fetchone()
    return tuple(row)


def _unpack(facts: bytes, terr_ids: str) -> PlotArrays:
    values = np.frombuffer(facts, dtype=">f8").reshape(-1, len(PACKED_FACTS))
    columns = dict(zip(PACKED_FACTS, np.ascontiguousarray(values.T, dtype=np.float64), strict=True))
    codes = columns.pop("codes").astype(np.int64)
    return PlotArrays(
        terr_id=PaddedIds(terr_ids),
        networks=codes & 0xFF,
        stage_code=(codes >> 8) & 0xF,
        vocation_code=codes >> 12,
        **columns,
    )


def top_indices(
    scores: np.ndarray, terr_ids: Sequence[str], limit: int, needs: Needs
) -> np.ndarray:
    """Indices of the ``limit`` best plots: score descending, then ``scoring.tie_key``.

    np.partition finds the limit-th best score without sorting everything; every plot tied
    with it is kept before the final sort, so that the tie-break never depends on the
    partition's arbitrary order.
    """
    if limit <= 0 or len(scores) == 0:
        return np.array([], dtype=np.int64)
    if len(scores) > limit:
        threshold = -np.partition(-scores, limit - 1)[limit - 1]
        chosen = np.nonzero(scores >= threshold)[0]
    else:
        chosen = np.arange(len(scores))
    ties = scoring.tie_key([terr_ids[i] for i in chosen], needs)
    keys = dict(zip(chosen.tolist(), ties, strict=True))
    order = sorted(keys, key=lambda i: (-scores[i], keys[i]))
    return np.array(order[:limit], dtype=np.int64)


# --- Display fields and one-plot facts -----------------------------------------------------


def _display_fields(session: Session, terr_ids: Sequence[str]) -> dict[str, Any]:
    """Park name, EPCI and WGS 84 centroid of the results: read after the ranking, for display."""
    centroid = func.ST_Transform(func.ST_Centroid(Terrain.terr_geomsurf), WGS84)
    rows = session.execute(
        select(
            Terrain.terr_id,
            Terrain.site_id,
            Site.site_nom,
            Site.site_epci_siren,
            func.ST_X(centroid),
            func.ST_Y(centroid),
        )
        .join(Site, Site.site_id == Terrain.site_id)
        .where(Terrain.terr_id.in_(terr_ids))
    )
    return {row[0]: row for row in rows}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def load_plot_facts(
    session: Session, terr_ids: Sequence[str] | None = None, *, available_only: bool = False
) -> list[PlotFacts]:
    """The facts of plots (all of them, those of ``terr_ids``, or those on offer), read
    through the ORM models, in terr_id order. The EPCI is not read."""
    centroid = func.ST_Centroid(Terrain.terr_geomsurf)
    in_zone = func.ST_Intersects(ConstraintZone.geom, Terrain.terr_geomsurf)
    zone_types = (
        select(func.array_agg(func.distinct(ConstraintZone.zone_type))).where(in_zone)
    ).scalar_subquery()
    zone_names = (
        select(func.array_agg(aggregate_order_by(ConstraintZone.nom, ConstraintZone.nom))).where(
            in_zone, ConstraintZone.zone_type.in_(scoring.ZONE_TYPES)
        )
    ).scalar_subquery()
    network_columns = [getattr(Site, name) for name in scoring.NETWORKS]
    query = (
        select(
            Terrain.terr_id,
            Terrain.site_id,
            Terrain.terr_surf_brute,
            Terrain.terr_divisible,
            Terrain.terr_lot_min_ha,
            Terrain.terr_m2_prix,
            Terrain.terr_stade_comm,
            Terrain.terr_stade_amngt,
            Terrain.terr_icpe_max,
            Terrain.terr_puissance_kva,
            Terrain.terr_dispo_date,
            Terrain.terr_cle_en_main,
            Terrain.terr_hauteur_max_m,
            Site.autoroute_echang_dist,
            Site.site_vocadomi,
            func.ST_X(centroid),
            func.ST_Y(centroid),
            zone_types,
            zone_names,
            *network_columns,
        )
        .join(Site, Site.site_id == Terrain.site_id)
        .order_by(Terrain.terr_id)
    )
    if terr_ids is not None:
        query = query.where(Terrain.terr_id.in_(terr_ids))
    if available_only:
        query = query.where(Terrain.terr_stade_comm.in_(STADES_DISPONIBLES))
    return [_facts_of(row) for row in session.execute(query)]


def _facts_of(row: Any) -> PlotFacts:
    (terr_id, site_id, surface, divisible, lot_min, price, stade_comm, stade_amngt, icpe,
     power, dispo, turnkey, height, motorway, vocation, x, y, zone_types, zone_names,
     *networks) = row  # fmt: skip
    return PlotFacts(
        terr_id=terr_id,
        site_id=site_id,
        surface_ha=float(surface),
        divisible=bool(divisible),
        lot_min_ha=_float(lot_min),
        price_eur_m2=_float(price),
        stade_comm=stade_comm,
        stade_amngt=stade_amngt,
        icpe_max=icpe,
        networks=frozenset(
            name for name, present in zip(scoring.NETWORKS, networks, strict=True) if present
        ),
        power_kva=_float(power),
        available_from=dispo,
        turnkey=turnkey,
        height_max_m=_float(height),
        motorway_km=_float(motorway),
        x=x,
        y=y,
        zone_types=frozenset(zone_types or ()),
        vocation=vocation,
        zone_names=tuple(zone_names or ()),
    )


# --- Searches ------------------------------------------------------------------------------


def match(session: Session, needs: Needs, *, limit: int = DEFAULT_LIMIT) -> MatchResult:
    """The ``limit`` best plots of the whole network for ``needs``, explained."""
    weights = scoring.resolve_weights(needs)
    with _timed("scan of the plots on offer"):
        offer = scan_offer(session, needs)
    candidates = offer.candidates
    with _timed("scoring"):
        scores = scoring.score_arrays(candidates, needs, weights)
        top = top_indices(scores, candidates.terr_id, limit, needs)
    with _timed("results"):
        results = _results(session, needs, weights, [candidates.terr_id[i] for i in top])
    return MatchResult(
        needs=needs,
        weights=weights,
        results=results,
        excluded=offer.excluded,
        candidates=len(candidates),
        available=offer.available,
        plots=offer.plots,
    )


def _results(
    session: Session, needs: Needs, weights: dict[str, float], ranked: list[str]
) -> list[MatchedPlot]:
    if not ranked:
        return []
    display = _display_fields(session, ranked)
    facts = {plot.terr_id: plot for plot in load_plot_facts(session, ranked)}
    results = []
    # A plot deleted since the scan (another transaction committed) is simply left out.
    still_there = [terr_id for terr_id in ranked if terr_id in display and terr_id in facts]
    for rank, terr_id in enumerate(still_there, start=1):
        scored = scoring.score_plot(facts[terr_id], needs, weights)
        _, site_id, site_nom, epci_siren, lon, lat = display[terr_id]
        results.append(
            MatchedPlot(
                rank=rank,
                terr_id=terr_id,
                site_id=site_id,
                site_nom=site_nom,
                epci_siren=epci_siren,
                score=scored.score,
                criteria=scored.criteria,
                lon=lon,
                lat=lat,
            )
        )
    return results


def why_not(session: Session, needs: Needs, terr_id: str) -> WhyNot:
    """Why ``terr_id`` is not among the results: its failed hard constraints, or, when it
    passes them all, its score, breakdown and rank among the candidates."""
    found = load_plot_facts(session, [terr_id])
    if not found:
        raise NotFoundError(f"no plot {terr_id!r}")
    plot = found[0]
    failures = scoring.hard_failures(plot, needs)
    if failures:
        return WhyNot(terr_id=terr_id, failed=failures)
    weights = scoring.resolve_weights(needs)
    candidates = scan_offer(session, needs).candidates
    scores = scoring.score_arrays(candidates, needs, weights)
    return WhyNot(
        terr_id=terr_id,
        failed=[],
        rank=_rank_of(terr_id, scores, candidates.terr_id, needs),
        candidates=len(candidates),
        **_breakdown(plot, needs, weights),
    )


def _breakdown(plot: PlotFacts, needs: Needs, weights: dict[str, float]) -> dict[str, Any]:
    scored = scoring.score_plot(plot, needs, weights)
    return {"score": scored.score, "criteria": scored.criteria}


def _rank_of(terr_id: str, scores: np.ndarray, terr_ids: PaddedIds, needs: Needs) -> int | None:
    """Rank as ``match`` would give it: better scores first, then ``scoring.tie_key``."""
    position = terr_ids.position(terr_id)
    if position is None:
        return None
    score = scores[position]
    tied = np.nonzero(scores == score)[0]
    own, *others = scoring.tie_key([terr_id, *(terr_ids[i] for i in tied)], needs)
    ahead = np.count_nonzero(scores > score) + sum(1 for key in others if key < own)
    return int(ahead) + 1


def rebuild_matching_data(session: Session) -> None:
    """Rewrite ``matching_plot`` and the plot count from the inventory (after a bulk load
    that bypassed the triggers; the triggers keep them right otherwise)."""
    session.execute(select(func.matching_rebuild()))
