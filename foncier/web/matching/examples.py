"""Typical companies a referent hears about on the phone: one link each prefills the search.

Each example is a set of search-form parameters (the page's query string), so that an example
is an ordinary shareable search and the form shows every value it sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Example:
    key: str
    label: str
    description: str
    parameters: dict[str, str | list[str]]


EXAMPLES: Final = (
    Example(
        "logisticien",
        "Logisticien 5 ha près de l’A10",
        "Entrepôt (NAF 52.10B) de 5 ha au moins, échangeur à 10 km au plus, 1 000 kVA, "
        "embranchement ferroviaire ; fibre souhaitée.",
        {
            "label": "Logisticien, entrepôt de 5 ha",
            "surface_min_ha": "5",
            "naf": "52.10B",
            "motorway_max_km": "10",
            "power_min_kva": "1000",
            "networks_required": ["reseau_electrique", "reseau_fret_ferroviaire"],
            "networks_wanted": [
                "reseau_electrique",
                "reseau_fibre_optique",
                "reseau_fret_ferroviaire",
            ],
        },
    ),
    Example(
        "artisan",
        "Artisan 3 000 m²",
        "Atelier de 3 000 m² à 1 ha, 45 €/m² au plus, eau, électricité et fibre.",
        {
            "label": "Artisan, atelier de 3 000 m²",
            "surface_min_ha": "0,3",
            "surface_max_ha": "1",
            "vocation": "artisanale",
            "budget_max_eur_m2": "45",
            "networks_required": ["reseau_eau_potable", "reseau_electrique"],
        },
    ),
    Example(
        "industriel",
        "Industriel ICPE autorisation 2 MW",
        "Usine soumise à autorisation ICPE, 3 ha au moins, 2 000 kVA, gaz, hors zone inondable.",
        {
            "label": "Industriel ICPE autorisation",
            "surface_min_ha": "3",
            "vocation": "industrielle",
            "icpe_regime": "autorisation",
            "power_min_kva": "2000",
            "networks_required": ["reseau_electrique", "reseau_gaz"],
            "avoid_zones": ["inondation"],
        },
    ),
)
