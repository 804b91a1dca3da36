"""The pure scorer: hard constraints and soft criteria over plain facts about plots.

Nothing here touches a database, and nothing here knows which EPCI a plot belongs to:
``PlotFacts`` has no such field, so the score cannot depend on it (neutrality by
construction). The engine (foncier.matching.engine) applies the same hard constraints in SQL
and scores the candidates with ``score_arrays``; ``hard_failures`` and ``score_plot`` are the
readable, one-plot versions used for « pourquoi pas ? » and by the tests, which check that both
paths agree. Every membership function is documented in docs/matching.md.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from foncier.matching import wording
from foncier.models import codelists

if TYPE_CHECKING:
    from foncier.matching.needs import Near, Needs

# Networks of a park (CNIG SITE-ECO columns) in the order of the bits of their masks, here and
# in the database (sql/triggers/matching_plot_v1.sql).
NETWORKS: Final = (
    "reseau_electrique",
    "reseau_gaz",
    "reseau_eau_potable",
    "reseau_assainissement",
    "reseau_eau_pluviale",
    "reseau_fibre_optique",
    "reseau_fret_ferroviaire",
    "reseau_fluvial",
)
NETWORK_LABELS: Final = {
    "reseau_electrique": "électricité",
    "reseau_gaz": "gaz",
    "reseau_eau_potable": "eau potable",
    "reseau_assainissement": "assainissement",
    "reseau_eau_pluviale": "eaux pluviales",
    "reseau_fibre_optique": "fibre optique",
    "reseau_fret_ferroviaire": "fret ferroviaire",
    "reseau_fluvial": "voie d’eau",
}
# What every company expects when it names no network it wants.
BASIC_NETWORKS: Final = (
    "reseau_electrique",
    "reseau_eau_potable",
    "reseau_assainissement",
    "reseau_fibre_optique",
)
# Constraint-zone types in the order of the bits of the plots' zone masks.
ZONE_TYPES: Final = codelists.ZONE_TYPES

# Membership parameters (docs/matching.md tabulates them).
MOTORWAY_ZERO_KM: Final = 30.0
NEAR_ZERO_KM: Final = 30.0
AVAILABILITY_ZERO_DAYS: Final = 730
# With no maximum surface, a lot up to 1.5 times the minimum is "about right".
SURFACE_COMFORT_RATIO: Final = 1.5
STAGE_VALUES: Final = {
    "viabilisé et aménagé": 1.0,
    "viabilisé non aménagé": 0.75,
    "viabilisation en cours": 0.5,
    "non aménagé, non viabilisé": 0.2,
}
# Park vocations close enough to serve each other half as well as the one asked for.
RELATED_VOCATIONS: Final = frozenset(
    frozenset(pair)
    for pair in (
        ("industrielle", "artisanale"),
        ("industrielle", "entrepôts, logistique"),
        ("entrepôts, logistique", "logistique agricole"),
        ("artisanale", "commerciale"),
        ("commerciale", "tertiaire"),
        ("portuaire", "entrepôts, logistique"),
        ("aéroportuaire, aéronautique", "industrielle"),
    )
)
MIXED_VOCATION_VALUE: Final = 0.5
RELATED_VOCATION_VALUE: Final = 0.5


@dataclass(frozen=True)
class CriterionSpec:
    name: str
    label: str
    default_weight: float
    # The membership function in one line (docs/matching.md has the tables).
    membership: str


CRITERIA: Final = (
    CriterionSpec(
        "surface", "Surface", 0.20,
        "lot offert L (le plus petit lot ≥ minimum demandé) ; plafond P = maximum demandé, "
        "ou 1,5 × minimum : min(1, L / minimum, 2 − L / P), borné à [0, 1]",
    ),
    CriterionSpec(
        "prix", "Prix", 0.20,
        "r = prix / budget : 1,5 − r borné à [0, 1] (1 jusqu’à la moitié du budget, "
        "0,5 au budget, 0 à 1,5 fois le budget) ; sans budget, le critère ne compte pas",
    ),
    CriterionSpec(
        "autoroute", "Accès autoroutier", 0.15,
        "d = distance à l’échangeur (km) : 1 − d / 30 borné à [0, 1]",
    ),
    CriterionSpec(
        "disponibilite", "Disponibilité", 0.10,
        "retard j = jours après la date voulue (ou aujourd’hui) : 1 − j / 730 borné à [0, 1]",
    ),
    CriterionSpec(
        "puissance", "Puissance électrique", 0.10,
        "p / (2 × puissance demandée) borné à [0, 1] (0,5 au minimum demandé, 1 au double) ; "
        "sans puissance demandée, le critère ne compte pas",
    ),
    CriterionSpec(
        "reseaux", "Réseaux", 0.10,
        "part des réseaux souhaités présents (par défaut : électricité, eau potable, "
        "assainissement, fibre optique)",
    ),
    CriterionSpec(
        "amenagement", "Stade d’aménagement", 0.05,
        "viabilisé et aménagé 1 ; viabilisé non aménagé 0,75 ; viabilisation en cours 0,5 ; "
        "non aménagé 0,2 ; autre 0",
    ),
    CriterionSpec(
        "vocation", "Vocation du parc", 0.05,
        "vocation demandée 1 ; parc mixte ou vocation voisine 0,5 ; autre 0 ; "
        "sans vocation demandée, le critère ne compte pas",
    ),
    CriterionSpec(
        "proximite", "Proximité du lieu souhaité", 0.05,
        "d = distance au lieu (km), R = rayon demandé ou 30 km : 1 − d / R borné à [0, 1] ; "
        "sans lieu, le critère ne compte pas",
    ),
)  # fmt: skip
CRITERION_NAMES: Final = tuple(spec.name for spec in CRITERIA)
CRITERION_LABELS: Final = {spec.name: spec.label for spec in CRITERIA}
DEFAULT_WEIGHTS: Final = {spec.name: spec.default_weight for spec in CRITERIA}

# Hard constraints, in the order failures are listed and excluded plots are counted.
HARD_CONSTRAINTS: Final = (
    ("disponibilite", "Disponibilité à la vente"),
    ("surface", "Surface"),
    ("icpe", "Régime ICPE"),
    ("reseaux", "Réseaux requis"),
    ("puissance", "Puissance électrique"),
    ("date", "Date de disponibilité"),
    ("cle_en_main", "Clé en main"),
    ("budget", "Budget maximal"),
    ("hauteur", "Hauteur de construction"),
    ("autoroute", "Distance à l’autoroute"),
    ("proximite", "Distance au lieu souhaité"),
    ("zones", "Zones de contrainte"),
)
HARD_CONSTRAINT_NAMES: Final = tuple(name for name, _ in HARD_CONSTRAINTS)


@dataclass(frozen=True)
class PlotFacts:
    """What the engine knows about one plot (and its park), as plain values. No EPCI."""

    terr_id: str
    site_id: str
    surface_ha: float
    divisible: bool
    lot_min_ha: float | None
    price_eur_m2: float | None
    stade_comm: str
    stade_amngt: str
    icpe_max: str | None
    networks: frozenset[str]
    power_kva: float | None
    # terr_dispo_date: from when the plot can be had; None when no date is given (at once).
    available_from: date | None
    turnkey: bool | None
    height_max_m: float | None
    motorway_km: float | None
    # Centroid in Lambert-93 (metres).
    x: float
    y: float
    zone_types: frozenset[str]
    vocation: str
    # Names of the constraint zones the plot lies in, for « pourquoi pas ? ».
    zone_names: tuple[str, ...] = ()

    @property
    def smallest_lot_ha(self) -> float:
        """The smallest lot the plot can be sold as: the whole plot unless it is divisible."""
        if not self.divisible:
            return self.surface_ha
        return self.lot_min_ha or 0.0


@dataclass(frozen=True)
class Failure:
    constraint: str
    explanation: str

    def to_json(self) -> dict[str, str]:
        return {"constraint": self.constraint, "explanation": self.explanation}


@dataclass(frozen=True)
class Criterion:
    name: str
    raw: Any
    value: float
    weight: float
    contribution: float
    explanation: str

    @property
    def label(self) -> str:
        return CRITERION_LABELS[self.name]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "raw": self.raw,
            "value": round(self.value, 6),
            "weight": round(self.weight, 6),
            "contribution": round(self.contribution, 6),
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class Scored:
    score: float
    criteria: list[Criterion]


# --- Weights -------------------------------------------------------------------------------


def criterion_applies(name: str, needs: Needs) -> bool:
    """Criteria about something the company did not ask for weigh nothing."""
    if name == "prix":
        return needs.budget_max_eur_m2 is not None
    if name == "puissance":
        return needs.power_min_kva is not None
    if name == "vocation":
        return needs.vocation is not None
    if name == "proximite":
        return needs.near is not None
    return True


def resolve_weights(needs: Needs, weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """The weights a search uses: defaults, overridden by the needs' ``weights`` then by
    ``weights``; criteria that do not apply get 0; normalised to sum 1.

    Raises ValueError when every applicable criterion weighs 0, or when a weight is negative,
    not finite or so large that the sum overflows (the schema caps weights at 1000).
    """
    merged = {**DEFAULT_WEIGHTS, **needs.weights, **(weights or {})}
    active = {name: merged[name] if criterion_applies(name, needs) else 0.0 for name in merged}
    if not all(math.isfinite(weight) and weight >= 0 for weight in active.values()):
        raise ValueError("weights must be finite and non-negative")
    try:
        total = math.fsum(active.values())
    except OverflowError:
        raise ValueError("weights too large") from None
    if not math.isfinite(total):
        raise ValueError("weights too large")
    if total <= 0:
        raise ValueError("every applicable criterion weighs 0")
    return {name: active[name] / total for name in CRITERION_NAMES}


# --- Hard constraints, one plot ------------------------------------------------------------


def icpe_rank(regime: str | None) -> int:
    """Position of a regime in the ICPE scale; -1 when unknown."""
    return codelists.ICPE_REGIMES.index(regime) if regime in codelists.ICPE_REGIMES else -1


def distance_m(x: float, y: float, to_x: float, to_y: float) -> float:
    """Planar distance in Lambert-93, metres."""
    dx, dy = x - to_x, y - to_y
    return math.sqrt(dx * dx + dy * dy)


def within_radius(x: float, y: float, near: Near) -> bool:
    """Whether a point lies within ``near.max_km``: squared distances compared, with the same
    float operations as the candidate query, so that both decide alike at the boundary."""
    assert near.max_km is not None
    dx, dy = x - near.x, y - near.y
    radius = near.max_km * 1000.0
    return dx * dx + dy * dy <= radius * radius


def _availability_failure(plot: PlotFacts, needs: Needs) -> str | None:
    if plot.stade_comm in codelists.STADES_DISPONIBLES:
        return None
    return f"Terrain non disponible à la vente : stade de commercialisation « {plot.stade_comm} »."


def _surface_failure(plot: PlotFacts, needs: Needs) -> str | None:
    smin, smax = needs.surface_min_ha, needs.surface_max_ha
    if plot.surface_ha < smin:
        return (
            f"Surface de {wording.quantity(plot.surface_ha, 'ha', 2)}, inférieure "
            f"{_to_the(smin, 'ha', 2)} {wording.agreed(smin, 'demandé', 'demandés', 2)}."
        )
    if smax is None or plot.smallest_lot_ha <= smax:
        return None
    if plot.divisible:
        return (
            f"Terrain divisible, mais en lots d’au moins "
            f"{wording.quantity(plot.smallest_lot_ha, 'ha', 2)}, au-delà "
            f"{_of_the(smax, 'ha', 2)} {wording.agreed(smax, 'demandé', 'demandés', 2)} au plus."
        )
    return (
        f"Surface de {wording.quantity(plot.surface_ha, 'ha', 2)}, au-delà "
        f"{_of_the(smax, 'ha', 2)} {wording.agreed(smax, 'demandé', 'demandés', 2)} au plus, "
        "et terrain non divisible."
    )


def _to_the(value: float, unit: str, decimals: int = 1) -> str:
    """« aux 4 ha », « au 1,5 ha »: French agreement, singular under 2."""
    article = "aux" if wording.plural(value, decimals) else "au"
    return f"{article} {wording.quantity(value, unit, decimals)}"


def _of_the(value: float, unit: str, decimals: int = 1) -> str:
    """« des 4 ha », « du 1,5 ha »."""
    article = "des" if wording.plural(value, decimals) else "du"
    return f"{article} {wording.quantity(value, unit, decimals)}"


def _icpe_failure(plot: PlotFacts, needs: Needs) -> str | None:
    needed = icpe_rank(needs.icpe_regime)
    if needed <= 0 or icpe_rank(plot.icpe_max) >= needed:
        return None
    if plot.icpe_max is None:
        return (
            f"Régime ICPE accepté non renseigné : impossible de garantir une installation "
            f"soumise à {needs.icpe_regime}."
        )
    return (
        f"Le terrain accepte au plus le régime ICPE « {plot.icpe_max} », pas une installation "
        f"soumise à {needs.icpe_regime}."
    )


def _networks_failure(plot: PlotFacts, needs: Needs) -> str | None:
    missing = [name for name in NETWORKS if name in needs.networks_required - plot.networks]
    if not missing:
        return None
    labels = wording.enumerate_fr([NETWORK_LABELS[name] for name in missing])
    plural = "Réseaux requis absents" if len(missing) > 1 else "Réseau requis absent"
    return f"{plural} : {labels}."


def _power_failure(plot: PlotFacts, needs: Needs) -> str | None:
    wanted = needs.power_min_kva
    if wanted is None or (plot.power_kva is not None and plot.power_kva >= wanted):
        return None
    asked = wording.agreed(wanted, "demandé", "demandés", 0)
    if plot.power_kva is None:
        return (
            f"Puissance électrique disponible non renseignée, "
            f"{wording.quantity(wanted, 'kVA', 0)} {asked}."
        )
    return (
        f"Puissance électrique disponible de {wording.quantity(plot.power_kva, 'kVA', 0)}, "
        f"inférieure {_to_the(wanted, 'kVA', 0)} {asked}."
    )


def _date_failure(plot: PlotFacts, needs: Needs) -> str | None:
    wanted = needs.needed_by
    if wanted is None or plot.available_from is None or plot.available_from <= wanted:
        return None
    return (
        f"Disponible le {wording.french_date(plot.available_from)} seulement, après la date "
        f"voulue ({wording.french_date(wanted)})."
    )


def _turnkey_failure(plot: PlotFacts, needs: Needs) -> str | None:
    if not needs.turnkey_required or plot.turnkey:
        return None
    return "Terrain non proposé clé en main."


def _budget_failure(plot: PlotFacts, needs: Needs) -> str | None:
    budget = needs.budget_max_eur_m2
    if not needs.budget_is_hard or budget is None:
        return None
    limit = wording.quantity(budget, "€/m²", 2)
    if plot.price_eur_m2 is None:
        return f"Prix non renseigné : impossible de garantir le budget maximal de {limit}."
    if plot.price_eur_m2 <= budget:
        return None
    return (
        f"Prix de {wording.quantity(plot.price_eur_m2, '€/m²', 2)}, au-dessus du budget "
        f"maximal de {limit}."
    )


def _height_failure(plot: PlotFacts, needs: Needs) -> str | None:
    wanted = needs.height_min_m
    if wanted is None or plot.height_max_m is None or plot.height_max_m >= wanted:
        return None
    return (
        f"Hauteur de construction limitée à {wording.quantity(plot.height_max_m, 'm')}, "
        f"moins que {'les' if wording.plural(wanted) else 'le'} "
        f"{wording.quantity(wanted, 'm')} {wording.agreed(wanted, 'nécessaire', 'nécessaires')}."
    )


def _motorway_failure(plot: PlotFacts, needs: Needs) -> str | None:
    limit = needs.motorway_max_km
    if limit is None or (plot.motorway_km is not None and plot.motorway_km <= limit):
        return None
    if plot.motorway_km is None:
        return "Distance à l’échangeur autoroutier non renseignée."
    return (
        f"Échangeur autoroutier à {wording.distance(plot.motorway_km)}, au-delà "
        f"{_of_the(limit, 'km')} {wording.agreed(limit, 'accepté', 'acceptés')}."
    )


def _near_failure(plot: PlotFacts, needs: Needs) -> str | None:
    near = needs.near
    if near is None or near.max_km is None:
        return None
    if within_radius(plot.x, plot.y, near):
        return None
    distance = distance_m(plot.x, plot.y, near.x, near.y)
    return (
        f"À {wording.distance(distance / 1000.0)} du lieu souhaité, au-delà "
        f"{_of_the(near.max_km, 'km')} {wording.agreed(near.max_km, 'accepté', 'acceptés')}."
    )


ZONE_PHRASES: Final = {
    "inondation": "zone inondable (PPRI)",
    "pprt": "zone de risque technologique (PPRT)",
    "natura2000": "site Natura 2000",
    "autre": "zone de contrainte",
}


def _zones_failure(plot: PlotFacts, needs: Needs) -> str | None:
    found = [zone for zone in ZONE_TYPES if zone in plot.zone_types & needs.avoid_zones]
    if not found:
        return None
    where = wording.enumerate_fr([ZONE_PHRASES[zone] for zone in found])
    named = ""
    if plot.zone_names:
        named = " (" + ", ".join(f"« {name} »" for name in plot.zone_names) + ")"
    return f"Terrain situé en {where}{named} : l’activité ne peut pas l’accepter."


HARD_CHECKS: Final[dict[str, Callable[[PlotFacts, Needs], str | None]]] = {
    "disponibilite": _availability_failure,
    "surface": _surface_failure,
    "icpe": _icpe_failure,
    "reseaux": _networks_failure,
    "puissance": _power_failure,
    "date": _date_failure,
    "cle_en_main": _turnkey_failure,
    "budget": _budget_failure,
    "hauteur": _height_failure,
    "autoroute": _motorway_failure,
    "proximite": _near_failure,
    "zones": _zones_failure,
}


def hard_failures(plot: PlotFacts, needs: Needs) -> list[Failure]:
    """Every hard constraint ``plot`` fails, in the order of HARD_CONSTRAINTS.

    What is unknown cannot be promised: an unknown ICPE regime, power, motorway distance or
    price fails a constraint that asks for it; an unknown height limit does not (no limit).
    """
    failures = []
    for name in HARD_CONSTRAINT_NAMES:
        explanation = HARD_CHECKS[name](plot, needs)
        if explanation is not None:
            failures.append(Failure(name, explanation))
    return failures


# --- Soft criteria, one plot ---------------------------------------------------------------


def clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


@dataclass(frozen=True)
class Evaluation:
    raw: Any
    value: float
    explanation: str


def offered_lot_ha(plot: PlotFacts, needs: Needs) -> float:
    """The lot the plot would be sold as: the smallest one it allows of at least the minimum."""
    return min(plot.surface_ha, max(plot.smallest_lot_ha, needs.surface_min_ha))


def surface_ceiling_ha(needs: Needs) -> float:
    if needs.surface_max_ha is not None:
        return needs.surface_max_ha
    return SURFACE_COMFORT_RATIO * needs.surface_min_ha


def _surface(plot: PlotFacts, needs: Needs) -> Evaluation:
    lot = offered_lot_ha(plot, needs)
    value = clip01(min(1.0, lot / needs.surface_min_ha, 2.0 - lot / surface_ceiling_ha(needs)))
    what = "Lot possible" if plot.divisible and lot < plot.surface_ha else "Terrain"
    asked = wording.quantity(needs.surface_min_ha, "ha", 2)
    largest = needs.surface_min_ha
    if needs.surface_max_ha is not None:
        asked = f"{wording.number(needs.surface_min_ha, 2)} à "
        asked += wording.quantity(needs.surface_max_ha, "ha", 2)
        largest = needs.surface_max_ha
    if value >= 1.0:
        verdict = "surface adaptée"
    elif lot < needs.surface_min_ha:
        verdict = "trop petit"
    else:
        verdict = "plus grand que nécessaire"
    return Evaluation(
        round(lot, 4),
        value,
        f"{what} de {wording.quantity(lot, 'ha', 2)} pour {asked} "
        f"{wording.agreed(largest, 'demandé', 'demandés', 2)} : {verdict} "
        f"({wording.score(value)}).",
    )


def _price(plot: PlotFacts, needs: Needs) -> Evaluation:
    budget = needs.budget_max_eur_m2
    if budget is None:
        return Evaluation(plot.price_eur_m2, 0.0, "Pas de budget indiqué : le prix ne compte pas.")
    if plot.price_eur_m2 is None:
        return Evaluation(None, 0.0, f"Prix non renseigné ({wording.score(0.0)}).")
    value = clip01(1.5 - plot.price_eur_m2 / budget)
    if plot.price_eur_m2 <= 0.5 * budget:
        verdict = "bien en dessous du budget"
    elif plot.price_eur_m2 <= budget:
        verdict = "dans le budget"
    else:
        verdict = "au-dessus du budget"
    return Evaluation(
        plot.price_eur_m2,
        value,
        f"Prix de {wording.quantity(plot.price_eur_m2, '€/m²', 2)} pour un budget de "
        f"{wording.quantity(budget, '€/m²', 2)} : {verdict} ({wording.score(value)}).",
    )


def _access_verdict(value: float) -> str:
    if value >= 0.8:
        return "très bon accès"
    if value >= 0.5:
        return "bon accès"
    if value >= 0.2:
        return "accès moyen"
    return "accès lointain" if value > 0 else "trop loin pour compter"


def _motorway(plot: PlotFacts, needs: Needs) -> Evaluation:
    if plot.motorway_km is None:
        return Evaluation(
            None, 0.0, f"Distance à l’échangeur autoroutier non renseignée ({wording.score(0)})."
        )
    value = clip01(1.0 - plot.motorway_km / MOTORWAY_ZERO_KM)
    return Evaluation(
        plot.motorway_km,
        value,
        f"Échangeur autoroutier à {wording.distance(plot.motorway_km)} : "
        f"{_access_verdict(value)} ({wording.score(value)}).",
    )


def availability_target(needs: Needs) -> date:
    """Availability up to this date is perfect: the date wanted, or today if none (or past)."""
    if needs.needed_by is not None and needs.needed_by > needs.reference_date:
        return needs.needed_by
    return needs.reference_date


def _availability(plot: PlotFacts, needs: Needs) -> Evaluation:
    today = needs.reference_date
    when = max(plot.available_from or today, today)
    late_days = max(0, (when - availability_target(needs)).days)
    value = clip01(1.0 - late_days / AVAILABILITY_ZERO_DAYS)
    if when <= today:
        text = "Disponible dès maintenant"
    else:
        months = wording.months_between(today, when)
        delay = f"dans {months} mois" if months >= 1 else "dans moins d’un mois"
        text = f"Disponible le {wording.french_date(when)}, {delay}"
    if needs.needed_by is not None and late_days == 0 and when > today:
        text += ", à la date voulue" if when == needs.needed_by else ", avant la date voulue"
    return Evaluation(when.isoformat(), value, f"{text} ({wording.score(value)}).")


def _power(plot: PlotFacts, needs: Needs) -> Evaluation:
    wanted = needs.power_min_kva
    if wanted is None:
        return Evaluation(
            plot.power_kva, 0.0, "Pas de puissance demandée : la puissance ne compte pas."
        )
    if plot.power_kva is None:
        return Evaluation(None, 0.0, f"Puissance électrique non renseignée ({wording.score(0)}).")
    value = clip01(plot.power_kva / (2.0 * wanted))
    margin = round(100 * (plot.power_kva - wanted) / wanted)
    verdict = f"marge de {margin}{wording.UNIT}%" if margin >= 0 else "insuffisant"
    return Evaluation(
        plot.power_kva,
        value,
        f"Puissance de {wording.quantity(plot.power_kva, 'kVA', 0)} disponible pour "
        f"{wording.quantity(wanted, 'kVA', 0)} {wording.agreed(wanted, 'demandé', 'demandés', 0)}"
        f" : {verdict} ({wording.score(value)}).",
    )


def wanted_networks(needs: Needs) -> tuple[str, ...]:
    wanted = needs.networks_wanted or frozenset(BASIC_NETWORKS)
    return tuple(name for name in NETWORKS if name in wanted)


def _networks(plot: PlotFacts, needs: Needs) -> Evaluation:
    wanted = wanted_networks(needs)
    present = [name for name in wanted if name in plot.networks]
    missing = [NETWORK_LABELS[name] for name in wanted if name not in plot.networks]
    value = len(present) / len(wanted)
    text = f"Réseaux souhaités présents : {len(present)} sur {len(wanted)}"
    if missing:
        text += f", sans {wording.enumerate_fr(missing)}"
    return Evaluation(present, value, f"{text} ({wording.score(value)}).")


def _stage(plot: PlotFacts, needs: Needs) -> Evaluation:
    value = STAGE_VALUES.get(plot.stade_amngt, 0.0)
    return Evaluation(
        plot.stade_amngt,
        value,
        f"Stade d’aménagement : {plot.stade_amngt} ({wording.score(value)}).",
    )


def vocation_value(site_vocation: str, wanted: str | None) -> float:
    if wanted is None:
        return 0.0
    if site_vocation == wanted:
        return 1.0
    if site_vocation == "mixte":
        return MIXED_VOCATION_VALUE
    if frozenset((site_vocation, wanted)) in RELATED_VOCATIONS:
        return RELATED_VOCATION_VALUE
    return 0.0


def _vocation(plot: PlotFacts, needs: Needs) -> Evaluation:
    if needs.vocation is None:
        return Evaluation(
            plot.vocation, 0.0, "Pas de vocation demandée : la vocation ne compte pas."
        )
    value = vocation_value(plot.vocation, needs.vocation)
    if value >= 1.0:
        verdict = "celle recherchée"
    elif plot.vocation == "mixte":
        verdict = "qui accueille aussi cette activité"
    elif value > 0:
        verdict = f"voisine de la vocation « {needs.vocation} » recherchée"
    else:
        verdict = f"différente de la vocation « {needs.vocation} » recherchée"
    return Evaluation(
        plot.vocation,
        value,
        f"Parc à vocation « {plot.vocation} », {verdict} ({wording.score(value)}).",
    )


def near_radius_km(needs: Needs) -> float:
    if needs.near is None or needs.near.max_km is None:
        return NEAR_ZERO_KM
    return needs.near.max_km


def _proximity(plot: PlotFacts, needs: Needs) -> Evaluation:
    if needs.near is None:
        return Evaluation(None, 0.0, "Pas de lieu indiqué : la distance ne compte pas.")
    distance = distance_m(plot.x, plot.y, needs.near.x, needs.near.y) / 1000.0
    value = clip01(1.0 - distance / near_radius_km(needs))
    return Evaluation(
        round(distance, 3),
        value,
        f"À {wording.distance(distance)} du lieu souhaité ({wording.score(value)}).",
    )


EVALUATORS: Final[dict[str, Callable[[PlotFacts, Needs], Evaluation]]] = {
    "surface": _surface,
    "prix": _price,
    "autoroute": _motorway,
    "disponibilite": _availability,
    "puissance": _power,
    "reseaux": _networks,
    "amenagement": _stage,
    "vocation": _vocation,
    "proximite": _proximity,
}


def score_plot(plot: PlotFacts, needs: Needs, weights: Mapping[str, float] | None = None) -> Scored:
    """The score of ``plot`` and its breakdown; ``weights`` as in ``resolve_weights``.

    The contributions (value × normalised weight) sum to the score, which lies in [0, 1].
    Hard constraints are not checked here (see ``hard_failures``).
    """
    used = resolve_weights(needs, weights)
    criteria = []
    for name in CRITERION_NAMES:
        evaluation = EVALUATORS[name](plot, needs)
        weight = used[name]
        criteria.append(
            Criterion(
                name=name,
                raw=evaluation.raw,
                value=evaluation.value,
                weight=weight,
                contribution=evaluation.value * weight,
                explanation=evaluation.explanation,
            )
        )
    return Scored(score=sum_contributions([c.contribution for c in criteria]), criteria=criteria)


def sum_contributions(contributions: Sequence[float]) -> float:
    """The score: contributions added one by one in CRITERION_NAMES order, exactly as
    ``score_arrays`` adds them, so that the score shown and the score ranked are one float."""
    total = 0.0
    for contribution in contributions:
        total += contribution
    return total


# --- Soft criteria, vectorised -------------------------------------------------------------

_STAGE_CODES: Final = {stage: code for code, stage in enumerate(codelists.TERR_STADE_AMNGT)}
_STAGE_TABLE: Final = np.array(
    [STAGE_VALUES.get(stage, 0.0) for stage in codelists.TERR_STADE_AMNGT] + [0.0]
)
_VOCATION_CODES: Final = {vocation: code for code, vocation in enumerate(codelists.SITE_VOCADOMI)}
_POPCOUNT: Final = np.array([bin(byte).count("1") for byte in range(256)], dtype=np.float64)


def network_mask(names: frozenset[str] | Sequence[str]) -> int:
    return sum(1 << bit for bit, name in enumerate(NETWORKS) if name in names)


def zone_mask(types: frozenset[str] | Sequence[str]) -> int:
    return sum(1 << bit for bit, zone in enumerate(ZONE_TYPES) if zone in types)


def stage_code(stade_amngt: str) -> int:
    """Index of a development stage in the CNIG list (unknown values: past its end)."""
    return _STAGE_CODES.get(stade_amngt, len(codelists.TERR_STADE_AMNGT))


def vocation_code(vocation: str) -> int:
    return _VOCATION_CODES.get(vocation, len(codelists.SITE_VOCADOMI))


@dataclass(frozen=True)
class PlotArrays:
    """Facts of many plots, one numpy array per fact (NaN for unknown numbers).

    ``available_day`` is the proleptic ordinal of the availability date (0 when none: at once);
    ``networks`` the bit mask of NETWORKS; codes index the CNIG lists.
    """

    terr_id: Sequence[str]
    surface_ha: np.ndarray
    smallest_lot_ha: np.ndarray
    price_eur_m2: np.ndarray
    motorway_km: np.ndarray
    available_day: np.ndarray
    power_kva: np.ndarray
    networks: np.ndarray
    stage_code: np.ndarray
    vocation_code: np.ndarray
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.terr_id)

    @classmethod
    def from_facts(cls, plots: Sequence[PlotFacts]) -> PlotArrays:
        def floats(values: list[float | None]) -> np.ndarray:
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

        return cls(
            terr_id=np.array([p.terr_id for p in plots], dtype=object),
            surface_ha=floats([p.surface_ha for p in plots]),
            smallest_lot_ha=floats([p.smallest_lot_ha for p in plots]),
            price_eur_m2=floats([p.price_eur_m2 for p in plots]),
            motorway_km=floats([p.motorway_km for p in plots]),
            available_day=floats(
                [p.available_from.toordinal() if p.available_from else 0 for p in plots]
            ),
            power_kva=floats([p.power_kva for p in plots]),
            networks=np.array([network_mask(p.networks) for p in plots], dtype=np.int64),
            stage_code=np.array([stage_code(p.stade_amngt) for p in plots], dtype=np.int64),
            vocation_code=np.array([vocation_code(p.vocation) for p in plots], dtype=np.int64),
            x=floats([p.x for p in plots]),
            y=floats([p.y for p in plots]),
        )


def _clip(values: np.ndarray) -> np.ndarray:
    """Clip to [0, 1], unknown (NaN) counting as 0."""
    return np.nan_to_num(np.clip(values, 0.0, 1.0), nan=0.0)


def criterion_values(plots: PlotArrays, needs: Needs) -> dict[str, np.ndarray]:
    """The value in [0, 1] of every criterion for every plot: the same membership functions
    as the one-plot evaluators above, on arrays.

    Needs as small as the schema allows (down to 5e-324 ha or €/m²) overflow a ratio to
    infinity, which the clipping turns into the right value (1 or 0): the overflow is
    expected there, not worth a warning in the logs."""
    with np.errstate(over="ignore"):
        return _criterion_values(plots, needs)


def _criterion_values(plots: PlotArrays, needs: Needs) -> dict[str, np.ndarray]:
    smin = needs.surface_min_ha
    lot = np.minimum(plots.surface_ha, np.maximum(plots.smallest_lot_ha, smin))
    ceiling = surface_ceiling_ha(needs)
    zeros = np.zeros(len(plots))
    values = {
        "surface": _clip(np.minimum(np.minimum(1.0, lot / smin), 2.0 - lot / ceiling)),
        "autoroute": _clip(1.0 - plots.motorway_km / MOTORWAY_ZERO_KM),
        "disponibilite": _availability_values(plots, needs),
        "reseaux": _network_values(plots, needs),
        "amenagement": _STAGE_TABLE[plots.stage_code],
        "prix": zeros,
        "puissance": zeros,
        "vocation": zeros,
        "proximite": zeros,
    }  # fmt: skip
    if needs.budget_max_eur_m2 is not None:
        values["prix"] = _clip(1.5 - plots.price_eur_m2 / needs.budget_max_eur_m2)
    if needs.power_min_kva is not None:
        values["puissance"] = _clip(plots.power_kva / (2.0 * needs.power_min_kva))
    if needs.vocation is not None:
        table = np.array(
            [vocation_value(v, needs.vocation) for v in codelists.SITE_VOCADOMI] + [0.0]
        )
        values["vocation"] = table[plots.vocation_code]
    if needs.near is not None:
        dx, dy = plots.x - needs.near.x, plots.y - needs.near.y
        distance = np.sqrt(dx * dx + dy * dy) / 1000.0
        values["proximite"] = _clip(1.0 - distance / near_radius_km(needs))
    return values


def _availability_values(plots: PlotArrays, needs: Needs) -> np.ndarray:
    today = needs.reference_date.toordinal()
    when = np.maximum(plots.available_day, today)
    late = np.maximum(0.0, when - availability_target(needs).toordinal())
    return _clip(1.0 - late / AVAILABILITY_ZERO_DAYS)


def _network_values(plots: PlotArrays, needs: Needs) -> np.ndarray:
    wanted = wanted_networks(needs)
    present = plots.networks & network_mask(wanted)
    return _POPCOUNT[present & 0xFF] / len(wanted)


def score_arrays(
    plots: PlotArrays, needs: Needs, weights: Mapping[str, float] | None = None
) -> np.ndarray:
    """The score of every plot: the same floats as ``score_plot`` (same operations, same
    order of addition; tests check equality, not closeness)."""
    used = resolve_weights(needs, weights)
    values = criterion_values(plots, needs)
    total = np.zeros(len(plots))
    for name in CRITERION_NAMES:
        total += values[name] * used[name]
    return total


# --- Ties ----------------------------------------------------------------------------------

# Keys of the normalised needs that do not take part in the tie-break: the label is a name,
# and origin_epci must influence nothing.
# What does not define the company's needs: a label, where it comes from, and the weights,
# which only change scores (however they are written, the tie order of a search stays put).
_TIE_IGNORED: Final = ("label", "origin_epci", "weights")


def tie_key(terr_ids: Sequence[str], needs: Needs) -> list[tuple[bytes, str]]:
    """Sort keys that break ties between equal scores, one per id of ``terr_ids``.

    A hash (BLAKE2b, 8 bytes) of the terr_id keyed by the normalised needs, then the terr_id:
    deterministic (same needs, same order, in every process), yet neutral between territories,
    unlike terr_id order, which always favoured the lowest INSEE codes. Sort ascending.
    """
    normalised = {k: v for k, v in needs.to_json().items() if k not in _TIE_IGNORED}
    seed = hashlib.blake2b(
        json.dumps(normalised, sort_keys=True, ensure_ascii=True).encode(), digest_size=32
    ).digest()
    return [
        (hashlib.blake2b(terr_id.encode(), digest_size=8, key=seed).digest(), terr_id)
        for terr_id in terr_ids
    ]
