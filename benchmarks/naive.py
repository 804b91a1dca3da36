"""The naive baseline the engine is measured against: ORM objects and a Python loop.

What a first implementation would do: load every plot on offer as a ``Terrain`` object with its
``Site``, find the constraint zones each touches, build ``PlotFacts`` in Python (centroids with
shapely), then call the engine's own one-plot functions — ``hard_failures`` and
``score_plot`` — on each, and sort. It uses no precomputed table (``matching_plot``) and no
numpy, so the ratio of the two measures what the engine's design buys, while the shared
scoring functions make both rank by the same rules: their top 10 must be identical.
"""

from __future__ import annotations

from collections import defaultdict

from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from foncier.matching import Needs, PlotFacts, hard_failures, score_plot
from foncier.matching.scoring import NETWORKS, resolve_weights, tie_key
from foncier.models import ConstraintZone, Terrain
from foncier.models.codelists import STADES_DISPONIBLES

ON_OFFER = Terrain.terr_stade_comm.in_(STADES_DISPONIBLES)


def zones_by_plot(session: Session) -> dict[str, list[tuple[str, str]]]:
    """(type, name) of the constraint zones each plot on offer lies in."""
    rows = session.execute(
        select(Terrain.terr_id, ConstraintZone.zone_type, ConstraintZone.nom)
        .join(ConstraintZone, func.ST_Intersects(ConstraintZone.geom, Terrain.terr_geomsurf))
        .where(ON_OFFER)
    )
    zones: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for terr_id, zone_type, nom in rows:
        zones[terr_id].append((zone_type, nom))
    return zones


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def plot_facts(terrain: Terrain, zones: list[tuple[str, str]]) -> PlotFacts:
    site = terrain.site
    centroid = to_shape(terrain.terr_geomsurf).centroid
    return PlotFacts(
        terr_id=terrain.terr_id,
        site_id=terrain.site_id,
        surface_ha=float(terrain.terr_surf_brute),
        divisible=bool(terrain.terr_divisible),
        lot_min_ha=_float(terrain.terr_lot_min_ha),
        price_eur_m2=_float(terrain.terr_m2_prix),
        stade_comm=terrain.terr_stade_comm,
        stade_amngt=terrain.terr_stade_amngt,
        icpe_max=terrain.terr_icpe_max,
        networks=frozenset(name for name in NETWORKS if getattr(site, name)),
        power_kva=_float(terrain.terr_puissance_kva),
        available_from=terrain.terr_dispo_date,
        turnkey=terrain.terr_cle_en_main,
        height_max_m=_float(terrain.terr_hauteur_max_m),
        motorway_km=_float(site.autoroute_echang_dist),
        x=centroid.x,
        y=centroid.y,
        zone_types=frozenset(zone_type for zone_type, _ in zones),
        vocation=site.site_vocadomi,
        zone_names=tuple(sorted(nom for _, nom in zones)),
    )


def load_plots_on_offer(session: Session) -> list[PlotFacts]:
    terrains = session.scalars(
        select(Terrain).join(Terrain.site).options(contains_eager(Terrain.site)).where(ON_OFFER)
    ).all()
    zones = zones_by_plot(session)
    return [plot_facts(terrain, zones.get(terrain.terr_id, [])) for terrain in terrains]


def top_plots(session: Session, needs: Needs, count: int) -> list[str]:
    """terr_ids of the ``count`` best plots: score descending, then the engine's tie key."""
    weights = resolve_weights(needs)
    eligible = [
        (score_plot(plot, needs, weights).score, plot.terr_id)
        for plot in load_plots_on_offer(session)
        if not hard_failures(plot, needs)
    ]
    ties = tie_key([terr_id for _, terr_id in eligible], needs)
    ranked = sorted(zip(eligible, ties, strict=True), key=lambda pair: (-pair[0][0], pair[1]))
    return [terr_id for (_, terr_id), _ in ranked[:count]]
