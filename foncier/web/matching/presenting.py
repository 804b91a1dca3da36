"""What the matching pages say about a search, in French: exclusions, advice, plot facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from foncier.inventory.cnig.labels import LABELS
from foncier.inventory.queries import TerrainDetail, available_from
from foncier.matching import HARD_CONSTRAINTS
from foncier.matching.scoring import NETWORK_LABELS, NETWORKS
from foncier.models.codelists import ZONE_TYPE_LABELS
from foncier.web.formatting import display, french_date, plural

# Why plots were left out, as the summary of a search words it: the verb agrees with the
# count, « 1 terrain n’est pas disponible à temps », « 120 terrains ne sont pas en vente »
# (French uses the singular for 0 and 1). Each form is written out: no rule derives them.
EXCLUSION_REASONS: Final[dict[str, tuple[str, str]]] = {
    "disponibilite": ("n’est pas en vente", "ne sont pas en vente"),
    "surface": ("n’a pas la surface demandée", "n’ont pas la surface demandée"),
    "icpe": ("n’accepte pas ce régime ICPE", "n’acceptent pas ce régime ICPE"),
    "reseaux": (
        "n’a pas tous les réseaux indispensables",
        "n’ont pas tous les réseaux indispensables",
    ),
    "puissance": (
        "n’a pas la puissance électrique demandée",
        "n’ont pas la puissance électrique demandée",
    ),
    "date": ("n’est pas disponible à temps", "ne sont pas disponibles à temps"),
    "cle_en_main": ("n’est pas clé en main", "ne sont pas clés en main"),
    "budget": ("dépasse le budget impératif", "dépassent le budget impératif"),
    "hauteur": (
        "ne permet pas la hauteur de construction nécessaire",
        "ne permettent pas la hauteur de construction nécessaire",
    ),
    "autoroute": (
        "est trop loin d’un échangeur autoroutier",
        "sont trop loin d’un échangeur autoroutier",
    ),
    "proximite": ("est trop loin du lieu souhaité", "sont trop loin du lieu souhaité"),
    "zones": (
        "est dans une zone incompatible avec l’activité",
        "sont dans une zone incompatible avec l’activité",
    ),
}
# How to relax each constraint, and the search parameters to leave out to do so. Availability
# on the market cannot be relaxed: the plots not for sale are not on offer.
RELAXATIONS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "surface": ("Élargir la fourchette de surface (sans surface maximale)", ("surface_max_ha",)),
    "icpe": ("Chercher sans régime ICPE", ("icpe_regime",)),
    "reseaux": ("Chercher sans réseau indispensable", ("networks_required",)),
    "puissance": ("Chercher sans puissance minimale", ("power_min_kva",)),
    "date": ("Chercher sans date limite de disponibilité", ("needed_by",)),
    "cle_en_main": ("Chercher sans exiger le clé en main", ("turnkey_required",)),
    "budget": ("Rendre le budget indicatif (plus cher : pénalisé)", ("budget_is_hard",)),
    "hauteur": ("Chercher sans hauteur de construction", ("height_min_m",)),
    "autoroute": ("Chercher sans distance maximale à l’autoroute", ("motorway_max_km",)),
    "proximite": ("Chercher sans rayon autour du lieu", ("near_max_km",)),
    "zones": ("Chercher sans zones à éviter", ("avoid_zones",)),
}  # fmt: skip
CONSTRAINT_LABELS: Final = dict(HARD_CONSTRAINTS)


@dataclass(frozen=True)
class Exclusion:
    constraint: str
    label: str
    count: int
    reason: str  # agreeing with count: « n’est pas en vente », « ne sont pas en vente »
    # A way to relax the constraint: (what to do, parameters to leave out), or None.
    relaxation: tuple[str, tuple[str, ...]] | None


def exclusions(excluded: Mapping[str, int], query: Mapping[str, list[str]]) -> list[Exclusion]:
    """The constraints that left plots out, most first (ties in the engine's order); a
    relaxation is offered only when the search sets the parameters it would leave out."""
    order = {name: position for position, (name, _) in enumerate(HARD_CONSTRAINTS)}
    found = sorted(
        ((name, count) for name, count in excluded.items() if count > 0),
        key=lambda item: (-item[1], order.get(item[0], len(order))),
    )
    return [
        Exclusion(
            constraint=name,
            label=CONSTRAINT_LABELS.get(name, name),
            count=count,
            reason=_reason(name, count),
            relaxation=_relaxation(name, query),
        )
        for name, count in found
    ]


def _relaxation(
    constraint: str, query: Mapping[str, list[str]]
) -> tuple[str, tuple[str, ...]] | None:
    relaxation = RELAXATIONS.get(constraint)
    if relaxation is None or not any(query.get(name) for name in relaxation[1]):
        return None
    return relaxation


def without(query: Mapping[str, list[str]], names: tuple[str, ...]) -> dict[str, list[str]]:
    """The search without the parameters ``names``."""
    return {name: values for name, values in query.items() if name not in names}


def _reason(constraint: str, count: int) -> str:
    singular, plural_form = EXCLUSION_REASONS.get(
        constraint, (f"est exclu ({constraint})", f"sont exclus ({constraint})")
    )
    return singular if count <= 1 else plural_form


def exclusion_sentence(exclusion: Exclusion) -> str:
    """« 1 terrain n’est pas en vente », « 1 200 terrains ne sont pas en vente »."""
    return f"{plural(exclusion.count, 'terrain', 'terrains')} {exclusion.reason}"


# --- Plot facts, for the comparison and the printable sheet ---------------------------------


@dataclass(frozen=True)
class Fact:
    key: str
    label: str
    value: str


def plot_facts(detail: TerrainDetail, today: date) -> list[Fact]:
    """What a company asks about a plot, formatted: never the owners nor the sale."""
    terrain, site = detail.terrain, detail.terrain.site
    when = available_from(terrain, today)
    if when is None:
        availability = "non disponible"
    elif when <= today:
        availability = "immédiate"
    else:
        availability = f"à partir du {french_date(when)}"
    networks = [NETWORK_LABELS[name] for name in NETWORKS if getattr(site, name)]
    motorway = display(site.autoroute_echang_dist, "km")
    if site.autoroute_nom and site.autoroute_echang_dist is not None:
        motorway = f"{motorway} ({site.autoroute_nom})"
    zones = [
        f"{ZONE_TYPE_LABELS.get(zone.zone_type, zone.zone_type)} : {zone.nom}"
        for zone in detail.zones
    ]
    rows: list[tuple[str, str, Any]] = [
        ("parc", "Parc d’activités", site.site_nom),
        ("commune", "Commune", site.commune.nom),
        ("epci", "Intercommunalité", site.epci.nom),
        ("vocation", LABELS["site_vocadomi"], site.site_vocadomi),
        ("surface", "Surface", display(terrain.terr_surf_brute, "ha")),
        ("divisible", "Divisible", _divisible(detail)),
        ("prix", "Prix", display(terrain.terr_m2_prix, "euros_m2")),
        ("stade_comm", LABELS["terr_stade_comm"], terrain.terr_stade_comm),
        ("disponibilite", "Disponibilité", availability),
        ("amenagement", LABELS["terr_stade_amngt"], terrain.terr_stade_amngt),
        ("cle_en_main", LABELS["terr_cle_en_main"], display(terrain.terr_cle_en_main, "bool")),
        ("puissance", "Puissance électrique", display(terrain.terr_puissance_kva, "kva")),
        ("icpe", "Régime ICPE accepté au plus", display(terrain.terr_icpe_max)),
        ("hauteur", "Hauteur de construction maximale", display(terrain.terr_hauteur_max_m, "m")),
        ("reseaux", "Réseaux du parc", ", ".join(networks) or "aucun renseigné"),
        ("autoroute", "Échangeur autoroutier", motorway),
        ("fret", "Gare de fret", _station(site.gare_fret_nom, site.gare_fret_dist)),
        ("zones", "Zones de contrainte", " ; ".join(zones) or "aucune connue"),
    ]  # fmt: skip
    return [Fact(key, label, str(value)) for key, label, value in rows]


def _station(name: str | None, distance: Any) -> str:
    if distance is None:
        return name or "non renseignée"
    return f"{name} à {display(distance, 'km')}" if name else display(distance, "km")


def _divisible(detail: TerrainDetail) -> str:
    terrain = detail.terrain
    if not terrain.terr_divisible:
        return "non"
    if terrain.terr_lot_min_ha is None:
        return "oui"
    return f"oui, en lots d’au moins {display(terrain.terr_lot_min_ha, 'ha')}"


# --- Criteria, as the tables of the pages show them ------------------------------------------

# How each criterion's raw value reads: a unit of foncier.web.formatting.UNITS, date or text.
RAW_KINDS: Final = {
    "surface": "ha",
    "prix": "euros_m2",
    "autoroute": "km",
    "disponibilite": "date",
    "puissance": "kva",
    "reseaux": "networks",
    "proximite": "km",
}


def raw_text(name: str, raw: Any) -> str:
    """A criterion's raw value for a reader: « 5,2 ha », « 1er juin 2026 », « gaz, fibre »."""
    kind = RAW_KINDS.get(name, "text")
    if raw is None:
        return display(None)
    if kind == "networks":
        return ", ".join(NETWORK_LABELS.get(value, value) for value in raw) or "aucun"
    if kind == "date" and isinstance(raw, str):
        return french_date(date.fromisoformat(raw))
    return display(raw, kind)


def score_text(value: float, decimals: int = 2) -> str:
    """« 0,86 »: scores and values always with the same number of decimals."""
    return f"{value:.{decimals}f}".replace(".", ",")


def weight_text(weight: float) -> str:
    """A normalised weight as a share: « 20 % »."""
    return f"{round(weight * 100)}\u00a0%"
