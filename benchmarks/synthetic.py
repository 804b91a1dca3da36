"""A synthetic inventory of business parks and plots across France, as numpy arrays.

Pure and deterministic: the same communes, scale and seed give the same parks, plots and
zones, bit for bit. Distributions follow seed/demo.py (marketing stages, prices, power, ICPE
limits, divisibility, networks, motorway distances, availability dates), scaled to a country:
about 15 % of plots are on offer (STADES_DISPONIBLES). Everything is in Lambert-93 metres.

Parks are placed in communes drawn with a weight that mixes population and area (half each),
so that both cities and rural EPCIs have parks; a park is an axis-aligned rectangle around a
random point of its commune (where the whole rectangle fits, when the commune is large
enough), holding rows of rectangular plots separated by 20 m roads. Parks are not clipped to
their commune and may overlap a neighbour: irrelevant to matching.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import shapely
from numpy.typing import NDArray

from foncier.models.codelists import STADES_DISPONIBLES

# The inventory's own "today", fixed so that generated dates never depend on when it runs.
REFERENCE_DATE = date(2026, 9, 1)
IDENTIFIED_ON = date(2023, 3, 15)
ROAD_M = 20.0
PLOT_GAP_M = 4.0
PARK_MARGIN_M = 15.0
URBAN_NATURES = ("ME", "CU", "CA")

# CNIG site_vocadomi values and their share of parks.
VOCATIONS = {
    "mixte": 26,
    "artisanale": 22,
    "industrielle": 20,
    "entrepôts, logistique": 12,
    "commerciale": 10,
    "tertiaire": 7,
    "logistique agricole": 1,
    "portuaire": 1,
    "aéroportuaire, aéronautique": 1,
}
# Median plot surface (ha) by vocation; surfaces are log-normal around it.
MEDIAN_PLOT_HA = {
    "entrepôts, logistique": 2.5,
    "industrielle": 1.2,
    "artisanale": 0.25,
    "commerciale": 0.5,
    "tertiaire": 0.35,
    "logistique agricole": 1.5,
    "portuaire": 1.5,
    "aéroportuaire, aéronautique": 1.0,
}
DEFAULT_MEDIAN_HA = 0.6
PLOT_HA_RANGE = (0.05, 40.0)

# Marketing stages and their shares: 15 % on offer, as the issue asks.
STAGES = {
    "en vente": 13.0,
    "en vente avec contraintes": 2.0,
    "vendu, commercialisation achevée": 58.0,
    "réservé par option de réservation": 8.0,
    "réservé par une délibération de l'EPCI": 4.0,
    "non commercialisé": 12.0,
    "non commercialisable": 3.0,
}
OFFERED_AMNGT = ("viabilisé et aménagé", "viabilisé non aménagé", "viabilisation en cours")
OFFERED_AMNGT_SHARES = (0.60, 0.25, 0.15)

# (low, high) price in €/m², rural then urban EPCI.
PRICES = {
    "tertiaire": ((35, 60), (90, 140)),
    "entrepôts, logistique": ((18, 26), (28, 40)),
    "artisanale": ((14, 22), (40, 55)),
    "industrielle": ((10, 20), (30, 45)),
    "commerciale": ((30, 60), (80, 160)),
}
DEFAULT_PRICES = ((15, 28), (35, 55))
POWER_KVA = {
    "entrepôts, logistique": (250, 1500),
    "industrielle": (400, 3000),
    "artisanale": (36, 250),
    "tertiaire": (100, 400),
}
DEFAULT_POWER_KVA = (100, 1000)
HEIGHT_M = {
    "entrepôts, logistique": (18, 25),
    "industrielle": (15, 30),
    "artisanale": (9, 12),
    "tertiaire": (15, 28),
}
DEFAULT_HEIGHT_M = (12, 18)
ICPE = {
    "entrepôts, logistique": ("enregistrement", "autorisation", "autorisation"),
    "industrielle": (
        "enregistrement",
        "autorisation",
        "autorisation",
        "seveso seuil bas",
        "seveso seuil haut",
    ),
    "artisanale": ("aucun", "déclaration", "déclaration"),
    "tertiaire": ("aucun", "aucun", "déclaration"),
    "commerciale": ("aucun", "déclaration"),
}
DEFAULT_ICPE = ("déclaration", "enregistrement", "enregistrement", "autorisation")
# Flood-prone land takes no hazardous installation beyond a simple declaration (as the demo).
FLOOD_ICPE = ("aucun", "déclaration")

NETWORK_SHARES = {
    "reseau_eau_pluviale": 0.90,
    "reseau_eau_potable": 0.97,
    "reseau_assainissement": 0.90,
    "reseau_electrique": 0.98,
    "reseau_gaz": 0.60,
    "reseau_fibre_optique": 0.70,
    "reseau_fret_ferroviaire": 0.06,
    "reseau_fluvial": 0.02,
}
MOTORWAYS = (
    "A1",
    "A4",
    "A6",
    "A7",
    "A8",
    "A9",
    "A10",
    "A11",
    "A13",
    "A20",
    "A31",
    "A36",
    "A43",
    "A61",
    "A62",
    "A63",
    "A75",
    "A83",
    "A84",
    "A85",
    "N165",
    "N10",
)


@dataclass(frozen=True)
class Communes:
    """The communes parks may go to, in a fixed order (by INSEE code)."""

    insee: list[str]
    nom: list[str]
    epci_siren: list[str]
    urban: NDArray[np.bool_]
    population: NDArray[np.float64]
    geoms: NDArray[np.object_]  # shapely (Multi)Polygons, Lambert-93


@dataclass(frozen=True)
class Parks:
    commune: NDArray[np.int64]  # index into Communes
    vocation: NDArray[np.object_]
    plot_count: NDArray[np.int64]
    # Perimeter rectangle (Lambert-93).
    xmin: NDArray[np.float64]
    ymin: NDArray[np.float64]
    xmax: NDArray[np.float64]
    ymax: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.commune)


@dataclass(frozen=True)
class Plots:
    park: NDArray[np.int64]  # index into Parks, plots of a park are contiguous
    surface_ha: NDArray[np.float64]
    boxes: NDArray[np.object_]  # shapely Polygons


@dataclass(frozen=True)
class Zone:
    zone_type: str
    nom: str
    geom: shapely.MultiPolygon


# --- parks ---------------------------------------------------------------------------------


def commune_weights(communes: Communes) -> NDArray[np.float64]:
    """Half population share, half area share: cities and the countryside both get parks."""
    areas = shapely.area(communes.geoms)
    weights = communes.population / communes.population.sum() + areas / areas.sum()
    return weights / weights.sum()


CENTRE_TRIES = 64


def park_centre(
    geom: shapely.Geometry, half_width: float, half_height: float, rng: np.random.Generator
) -> tuple[float, float]:
    """A random centre for a park of the given size in commune ``geom``: among CENTRE_TRIES
    random points of the commune's bounding box, the first whose rectangle fits inside the
    commune, else the first inside it (a park larger than its commune overflows), else draw
    again."""
    xmin, ymin, xmax, ymax = geom.bounds
    while True:
        xs = rng.uniform(xmin, xmax, CENTRE_TRIES)
        ys = rng.uniform(ymin, ymax, CENTRE_TRIES)
        rectangles = shapely.box(
            xs - half_width, ys - half_height, xs + half_width, ys + half_height
        )
        fitting = np.flatnonzero(shapely.contains(geom, rectangles))
        inside = fitting if fitting.size else np.flatnonzero(shapely.contains_xy(geom, xs, ys))
        if inside.size:
            return float(xs[inside[0]]), float(ys[inside[0]])


def park_centres(
    communes: Communes, chosen: NDArray[np.int64], layout: Layout, rng: np.random.Generator
) -> tuple[NDArray, NDArray]:
    xs = np.empty(len(chosen))
    ys = np.empty(len(chosen))
    half_widths = layout.park_width / 2 + PARK_MARGIN_M
    half_heights = layout.park_height / 2 + PARK_MARGIN_M
    for index, commune in enumerate(chosen):
        geom = communes.geoms[commune]
        shapely.prepare(geom)
        xs[index], ys[index] = park_centre(geom, half_widths[index], half_heights[index], rng)
    return xs, ys


def plot_counts(parks: int, plots: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """At least one plot per park, the rest spread unevenly (log-normal park sizes); the total
    is exactly ``plots``."""
    if plots < parks:
        raise ValueError(f"{plots} plots cannot fill {parks} parks (one plot each at least)")
    sizes = rng.lognormal(0.0, 0.8, parks)
    return 1 + rng.multinomial(plots - parks, sizes / sizes.sum())


def choose_vocations(count: int, rng: np.random.Generator) -> NDArray[np.object_]:
    names = np.array(list(VOCATIONS), dtype=object)
    shares = np.array(list(VOCATIONS.values()), dtype=float)
    return rng.choice(names, size=count, p=shares / shares.sum())


# --- plots ---------------------------------------------------------------------------------


def plot_surfaces(vocations: NDArray[np.object_], rng: np.random.Generator) -> NDArray:
    medians = np.array([MEDIAN_PLOT_HA.get(v, DEFAULT_MEDIAN_HA) for v in vocations])
    surfaces = medians * rng.lognormal(0.0, 0.9, len(vocations))
    return np.round(np.clip(surfaces, *PLOT_HA_RANGE), 4)


def _within_group_cumsum(values: NDArray, starts: NDArray[np.int64]) -> NDArray:
    """Exclusive running sum of ``values`` restarting at each index of ``starts`` (sorted
    group starts of contiguous groups)."""
    total = np.cumsum(values) - values
    group = np.searchsorted(starts, np.arange(len(values)), side="right") - 1
    return total - total[starts][group]


def _group_starts(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


@dataclass(frozen=True)
class Layout:
    """Plot rectangles relative to their park's lower-left corner, and each park's size."""

    x: NDArray
    y: NDArray
    width: NDArray
    height: NDArray
    park_width: NDArray
    park_height: NDArray


def lay_out(
    park_of_plot: NDArray[np.int64],
    counts: NDArray[np.int64],
    surfaces: NDArray,
    rng: np.random.Generator,
) -> Layout:
    """Rows of about sqrt(n) plots per park, each plot a rectangle of its surface."""
    aspect = rng.uniform(0.6, 1.6, len(surfaces))
    width = np.sqrt(surfaces * 10_000 * aspect)
    height = surfaces * 10_000 / width
    park_starts = np.r_[0, np.cumsum(counts)[:-1]]
    index_in_park = np.arange(len(surfaces)) - park_starts[park_of_plot]
    per_row = np.ceil(np.sqrt(counts)).astype(np.int64)
    row_in_park = index_in_park // per_row[park_of_plot]
    # Global row keys, contiguous because plots of a park and rows of a plot are in order.
    row_key = park_of_plot * (counts.max() + 1) + row_in_park
    row_starts = _group_starts(row_key)
    x = _within_group_cumsum(width + PLOT_GAP_M, row_starts)
    row_height = np.maximum.reduceat(height, row_starts) + ROAD_M
    row_width = np.add.reduceat(width + PLOT_GAP_M, row_starts)
    park_of_row = park_of_plot[row_starts]
    row_park_starts = _group_starts(park_of_row)
    row_y = _within_group_cumsum(row_height, row_park_starts)
    row_of_plot = np.searchsorted(row_starts, np.arange(len(surfaces)), side="right") - 1
    return Layout(
        x=x,
        y=row_y[row_of_plot],
        width=width,
        height=height,
        park_width=np.maximum.reduceat(row_width, row_park_starts),
        park_height=np.add.reduceat(row_height, row_park_starts),
    )


def centimetres(values: NDArray) -> NDArray:
    return np.round(values, 2)


def build_parks_and_plots(
    communes: Communes, park_count: int, plot_count: int, rng: np.random.Generator
) -> tuple[Parks, Plots]:
    chosen = rng.choice(len(communes.insee), size=park_count, p=commune_weights(communes))
    chosen.sort()  # parks numbered by commune, so ids follow INSEE codes
    vocations = choose_vocations(park_count, rng)
    counts = plot_counts(park_count, plot_count, rng)
    park_of_plot = np.repeat(np.arange(park_count), counts)
    surfaces = plot_surfaces(vocations[park_of_plot], rng)
    layout = lay_out(park_of_plot, counts, surfaces, rng)
    cx, cy = park_centres(communes, chosen, layout, rng)
    x0 = cx - layout.park_width / 2
    y0 = cy - layout.park_height / 2
    xmin = centimetres(x0[park_of_plot] + layout.x)
    ymin = centimetres(y0[park_of_plot] + layout.y)
    boxes = shapely.box(
        xmin, ymin, centimetres(xmin + layout.width), centimetres(ymin + layout.height)
    )
    parks = Parks(
        commune=chosen,
        vocation=vocations,
        plot_count=counts,
        xmin=centimetres(x0 - PARK_MARGIN_M),
        ymin=centimetres(y0 - PARK_MARGIN_M),
        xmax=centimetres(x0 + layout.park_width + PARK_MARGIN_M),
        ymax=centimetres(y0 + layout.park_height + PARK_MARGIN_M),
    )
    return parks, Plots(park=park_of_plot, surface_ha=surfaces, boxes=boxes)


# --- constraint zones ----------------------------------------------------------------------


def meander(x: float, y: float, length_m: float, rng: np.random.Generator) -> shapely.LineString:
    """A river-like line of ``length_m`` through (x, y): ten segments, heading drifting."""
    heading = rng.uniform(0, 2 * np.pi)
    turns = np.cumsum(rng.normal(0.0, 0.35, 10))
    steps = length_m / 10
    dx = np.cumsum(steps * np.cos(heading + turns))
    dy = np.cumsum(steps * np.sin(heading + turns))
    xs = np.r_[0.0, dx] - dx[4]
    ys = np.r_[0.0, dy] - dy[4]
    return shapely.LineString(np.c_[x + xs, y + ys])


def _anchors(parks: Parks, count: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    chosen = rng.choice(len(parks), size=count, replace=count > len(parks))
    return [
        ((parks.xmin[i] + parks.xmax[i]) / 2, (parks.ymin[i] + parks.ymax[i]) / 2) for i in chosen
    ]


def _as_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon:
    geom = shapely.set_precision(geom, 0.01)
    polygons = [geom] if isinstance(geom, shapely.Polygon) else list(geom.geoms)
    return shapely.MultiPolygon([p for p in polygons if isinstance(p, shapely.Polygon)])


def build_zones(parks: Parks, rng: np.random.Generator) -> list[Zone]:
    """Flood plains along meandering rivers through some parks (one per 200 parks), and a few
    technological-risk circles and Natura 2000 areas (one per 1,500 parks each)."""
    zones = []
    for n, (x, y) in enumerate(_anchors(parks, max(1, len(parks) // 200), rng), start=1):
        river = meander(x, y, rng.uniform(10_000, 40_000), rng)
        plain = river.buffer(rng.uniform(300, 1_200))
        zones.append(
            Zone("inondation", f"Zone inondable synthétique n° {n}", _as_multipolygon(plain))
        )
    rare = max(1, len(parks) // 1_500)
    for n, (x, y) in enumerate(_anchors(parks, rare, rng), start=1):
        circle = shapely.Point(x, y).buffer(rng.uniform(800, 2_000))
        zones.append(Zone("pprt", f"PPRT synthétique n° {n}", _as_multipolygon(circle)))
    for n, (x, y) in enumerate(_anchors(parks, rare, rng), start=1):
        blob = shapely.Point(x, y).buffer(rng.uniform(1_500, 5_000)).simplify(200)
        zones.append(
            Zone("natura2000", f"Site Natura 2000 synthétique n° {n}", _as_multipolygon(blob))
        )
    return zones


def in_zone_type(boxes: NDArray[np.object_], zones: list[Zone], zone_type: str) -> NDArray:
    """Which plots intersect a zone of ``zone_type``."""
    geoms = [zone.geom for zone in zones if zone.zone_type == zone_type]
    flags = np.zeros(len(boxes), dtype=bool)
    if geoms:
        hits = shapely.STRtree(geoms).query(boxes, predicate="intersects")
        flags[hits[0]] = True
    return flags


# --- attributes ----------------------------------------------------------------------------


def _pick(
    options: dict[str, tuple], default: tuple, keys: NDArray[np.object_], rng: np.random.Generator
) -> NDArray[np.object_]:
    """One random element of options[key] (or default) per key, uniformly."""
    result = np.empty(len(keys), dtype=object)
    for key in np.unique(keys):
        mask = keys == key
        choices = np.array(options.get(key, default), dtype=object)
        result[mask] = choices[rng.integers(0, len(choices), mask.sum())]
    return result


def _uniform_by(
    ranges: dict[str, tuple], default: tuple, keys: NDArray[np.object_], rng: np.random.Generator
) -> NDArray:
    low = np.array([ranges.get(k, default)[0] for k in keys], dtype=float)
    high = np.array([ranges.get(k, default)[1] for k in keys], dtype=float)
    return rng.uniform(low, high)


def days_after(start: date, offsets: NDArray[np.int64]) -> list[date]:
    return [start + timedelta(days=int(days)) for days in offsets]


def _stages(count: int, flooded: NDArray, rng: np.random.Generator) -> NDArray[np.object_]:
    names = np.array(list(STAGES), dtype=object)
    shares = np.array(list(STAGES.values()))
    stages = rng.choice(names, size=count, p=shares / shares.sum())
    stages[(stages == "en vente") & flooded] = "en vente avec contraintes"
    return stages


def _prices(vocations: NDArray[np.object_], urban: NDArray, rng: np.random.Generator) -> NDArray:
    rural = _uniform_by({k: v[0] for k, v in PRICES.items()}, DEFAULT_PRICES[0], vocations, rng)
    city = _uniform_by({k: v[1] for k, v in PRICES.items()}, DEFAULT_PRICES[1], vocations, rng)
    return np.round(np.where(urban, city, rural) * 2) / 2


def _state_columns(stages: NDArray[np.object_], rng: np.random.Generator) -> dict[str, NDArray]:
    """Development stage, occupation, use, land control and vacancy, from the marketing stage."""
    count = len(stages)
    sold = stages == "vendu, commercialisation achevée"
    reserve = stages == "non commercialisé"
    closed = stages == "non commercialisable"
    offered = ~(sold | reserve | closed)
    amngt = rng.choice(np.array(OFFERED_AMNGT, dtype=object), size=count, p=OFFERED_AMNGT_SHARES)
    amngt[sold] = "viabilisé et aménagé"
    amngt[reserve] = "non aménagé, non viabilisé"
    amngt[closed] = "non aménageable"
    vacant = sold & (rng.random(count) < 0.12)
    occupation = np.where(sold, np.where(vacant, "vacant", "occupé"), "inoccupé").astype(object)
    usage = np.where(
        sold,
        np.where(rng.random(count) < 0.7, "bâti productif", "dépôt, stockage"),
        np.where(reserve, "espace agricole", "sans objet"),
    ).astype(object)
    control = np.where(
        sold,
        np.where(
            rng.random(count) < 0.5,
            "établissement industriel et commercial",
            "investisseur professionnel",
        ),
        np.where(rng.random(count) < 0.7, "structure intercommunale", "aménageur"),
    ).astype(object)
    vacant_since = np.where(vacant, rng.integers(0, 8 * 365, count), -1)
    return {
        "amngt": amngt,
        "occupation": occupation,
        "usage": usage,
        "control": control,
        "vacant_since": vacant_since,
        "offered": offered,
        "reserve": reserve,
    }


def _nullable(values: list, missing: NDArray[np.bool_]) -> list:
    return [None if gone else value for value, gone in zip(values, missing, strict=True)]


def plot_attributes(
    plots: Plots, parks: Parks, communes: Communes, flooded: NDArray, rng: np.random.Generator
) -> dict[str, list]:
    """Every TERRAIN-ECO column the generator fills, as lists in plot order."""
    count = len(plots.surface_ha)
    vocations = parks.vocation[plots.park]
    urban = communes.urban[parks.commune][plots.park]
    stages = _stages(count, flooded, rng)
    state = _state_columns(stages, rng)
    offered = state["offered"]
    dispo = np.full(count, -1)
    building = offered & (state["amngt"] == "viabilisation en cours")
    dispo[building] = rng.integers(120, 540, building.sum())
    dispo[state["reserve"]] = rng.integers(730, 1460, state["reserve"].sum())
    surfaces = plots.surface_ha
    divisible = (surfaces >= 2) & (rng.random(count) < 0.5)
    lot_min = np.maximum(0.5, np.round(surfaces * rng.uniform(0.2, 0.45, count), 1))
    icpe = _pick(ICPE, DEFAULT_ICPE, vocations, rng)
    icpe[flooded & ~np.isin(icpe, FLOOD_ICPE)] = "déclaration"
    prices = _prices(vocations, urban, rng)
    turnkey = offered & (state["amngt"] == "viabilisé et aménagé") & (rng.random(count) < 0.2)
    actu = rng.integers(0, 176, count)
    return {
        "terr_surf_brute": surfaces.tolist(),
        "terr_stade_comm": stages.tolist(),
        "terr_stade_amngt": state["amngt"].tolist(),
        "terr_etat_occup": state["occupation"].tolist(),
        "terr_usage": state["usage"].tolist(),
        "terr_maitrise_fonc": state["control"].tolist(),
        "terr_actu_date": days_after(date(2026, 1, 5), actu),
        "terr_cle_en_main": turnkey.tolist(),
        "terr_m2_prix": _nullable(prices.tolist(), rng.random(count) < 0.05),
        "terr_dispo_date": _nullable(days_after(REFERENCE_DATE, np.maximum(dispo, 0)), dispo < 0),
        "terr_puissance_kva": np.round(
            _uniform_by(POWER_KVA, DEFAULT_POWER_KVA, vocations, rng), -1
        )
        .astype(int)
        .tolist(),
        "terr_icpe_max": icpe.tolist(),
        "terr_divisible": divisible.tolist(),
        "terr_lot_min_ha": _nullable(lot_min.tolist(), ~divisible),
        "terr_hauteur_max_m": np.round(
            _uniform_by(HEIGHT_M, DEFAULT_HEIGHT_M, vocations, rng)
        ).tolist(),
        "terr_vacant_depuis": _nullable(
            days_after(date(2016, 1, 1), np.maximum(state["vacant_since"], 0)),
            state["vacant_since"] < 0,
        ),
    }


def park_attributes(parks: Parks, communes: Communes, rng: np.random.Generator) -> dict[str, list]:
    """SITE-ECO columns that depend on chance: networks, access distances, vocation flags."""
    count = len(parks)
    urban = communes.urban[parks.commune]
    freight_prone = np.isin(parks.vocation, ("entrepôts, logistique", "industrielle"))
    columns: dict[str, list] = {}
    for network, share in NETWORK_SHARES.items():
        chance = np.full(count, share)
        if network == "reseau_fibre_optique":
            chance = np.where(urban, 0.95, share)
        if network == "reseau_fret_ferroviaire":
            chance = np.where(freight_prone, 0.15, 0.02)
        columns[network] = (rng.random(count) < chance).tolist()
    columns["desserte_tc"] = (rng.random(count) < np.where(urban, 0.6, 0.15)).tolist()
    motorway_km = np.round(np.clip(rng.gamma(2.0, 7.0, count), 0.3, 150.0), 1)
    columns["autoroute_echang_dist"] = motorway_km.tolist()
    columns["autoroute_nom"] = rng.choice(np.array(MOTORWAYS, dtype=object), count).tolist()
    columns["gare_fret_dist"] = np.round(
        np.clip(rng.gamma(2.0, 9.0, count), 0.2, 150.0), 1
    ).tolist()
    return columns


def is_available(stages: list[str]) -> NDArray[np.bool_]:
    return np.isin(np.array(stages, dtype=object), STADES_DISPONIBLES)
