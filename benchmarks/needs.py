"""Varied company needs for the benchmark, drawn deterministically from a seed.

Each needs document starts from a company profile (a logistician, an artisan, an industrial
plant...) and draws its surfaces, budget (soft or hard), ICPE regime, networks, power,
motorway limit, a place to be near (a park of the inventory, with or without a maximum
distance), zones to avoid, a date and sometimes a turnkey demand. A few deliberately broad
searches (small surface, nothing else) stress the engine with the most candidates. All needs
carry the inventory's reference date, so that results do not change with the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from benchmarks.synthetic import REFERENCE_DATE


@dataclass(frozen=True)
class Profile:
    label: str
    vocation: str | None
    surface_ha: tuple[float, float]
    budget_eur_m2: tuple[float, float]
    icpe: tuple[str, ...]
    networks: tuple[str, ...]
    power_kva: tuple[int, int] | None
    motorway_km: tuple[float, float] | None


PROFILES = (
    Profile("logisticien", "entrepôts, logistique", (2.0, 12.0), (18, 40),
            ("enregistrement", "autorisation"), ("reseau_electrique", "reseau_fret_ferroviaire"),
            (250, 1000), (3.0, 15.0)),
    Profile("artisan", "artisanale", (0.1, 0.6), (15, 55), ("aucun", "déclaration"),
            ("reseau_electrique", "reseau_eau_potable"), None, None),
    Profile("industriel", "industrielle", (1.0, 8.0), (10, 35),
            ("autorisation", "seveso seuil bas"), ("reseau_gaz", "reseau_electrique"),
            (500, 2500), (5.0, 30.0)),
    Profile("tertiaire", "tertiaire", (0.2, 1.5), (40, 140), ("aucun",),
            ("reseau_fibre_optique",), None, None),
    Profile("commerce", "commerciale", (0.3, 2.5), (30, 120), ("aucun", "déclaration"),
            ("reseau_electrique",), None, (2.0, 20.0)),
    Profile("agroalimentaire", None, (0.8, 5.0), (12, 30), ("déclaration", "enregistrement"),
            ("reseau_eau_potable", "reseau_assainissement", "reseau_gaz"), (300, 1500), None),
)  # fmt: skip
BROAD_EVERY = 10  # every tenth search is a broad one
NEAR_KM = (15.0, 80.0)


def _draw(rng: np.random.Generator, low: float, high: float, digits: int = 1) -> float:
    return round(float(rng.uniform(low, high)), digits)


def broad_needs(index: int, rng: np.random.Generator) -> dict[str, Any]:
    """A small surface and nothing else: almost every available plot is a candidate."""
    return {
        "label": f"large n° {index}",
        "surface_min_ha": _draw(rng, 0.05, 0.3, 2),
        "reference_date": REFERENCE_DATE.isoformat(),
    }


def _optional_constraints(profile: Profile, needs: dict[str, Any],
                          rng: np.random.Generator) -> None:  # fmt: skip
    """The parts of a search that only some companies specify."""
    if rng.random() < 0.6:
        needs["surface_max_ha"] = round(needs["surface_min_ha"] * _draw(rng, 1.5, 4.0), 2)
    if rng.random() < 0.3:
        needs["budget_is_hard"] = True
    if profile.power_kva and rng.random() < 0.8:
        needs["power_min_kva"] = int(rng.integers(*profile.power_kva))
    if profile.motorway_km and rng.random() < 0.7:
        needs["motorway_max_km"] = _draw(rng, *profile.motorway_km)
    if rng.random() < 0.4:
        needs["needed_by"] = (
            REFERENCE_DATE + timedelta(days=int(rng.integers(90, 900)))
        ).isoformat()
    if rng.random() < 0.08:
        needs["turnkey_required"] = True
    if rng.random() < 0.35:
        needs["avoid_zones"] = ["inondation"] + (["pprt"] if rng.random() < 0.3 else [])
    if rng.random() < 0.1:
        needs["height_min_m"] = _draw(rng, 10, 20, 0)
    if rng.random() < 0.15:
        needs["weights"] = {"prix": _draw(rng, 0.1, 0.5, 2), "autoroute": _draw(rng, 0.0, 0.3, 2)}


def profile_needs(index: int, rng: np.random.Generator,
                  places: list[tuple[float, float]]) -> dict[str, Any]:  # fmt: skip
    profile = PROFILES[int(rng.integers(len(PROFILES)))]
    needs: dict[str, Any] = {
        "label": f"{profile.label} n° {index}",
        "surface_min_ha": _draw(rng, *profile.surface_ha, 2),
        "budget_max_eur_m2": _draw(rng, *profile.budget_eur_m2),
        "icpe_regime": str(rng.choice(profile.icpe)),
        "reference_date": REFERENCE_DATE.isoformat(),
    }
    if profile.vocation:
        needs["vocation"] = profile.vocation
    else:
        needs["naf"] = "10.51A"  # fabrication de lait liquide: the engine derives the vocation
    required = [n for n in profile.networks if rng.random() < 0.5]
    if required:
        needs["networks_required"] = required
    if places and rng.random() < 0.6:
        lat, lon = places[int(rng.integers(len(places)))]
        needs["near"] = {"lat": round(lat, 5), "lon": round(lon, 5)}
        if rng.random() < 0.7:
            needs["near"]["max_km"] = _draw(rng, *NEAR_KM, 0)
    _optional_constraints(profile, needs, rng)
    return needs


def benchmark_needs(count: int, places: list[tuple[float, float]],
                    seed: int = 4) -> list[dict[str, Any]]:  # fmt: skip
    """``count`` needs documents; ``places`` are (lat, lon) points to be near (park centres)."""
    rng = np.random.default_rng(seed)
    return [
        broad_needs(index, rng) if index % BROAD_EVERY == 0 else profile_needs(index, rng, places)
        for index in range(1, count + 1)
    ]
