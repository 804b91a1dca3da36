"""The dominant park vocation (CNIG ``site_vocadomi``) a company's activity code calls for.

Companies are identified in SIRENE by their NAF rév. 2 code (``52.10B``: « Entreposage et
stockage non frigorifique »). Referents know it from the company's registration, not which
CNIG vocation the company would fit, so the needs may give ``naf`` and the engine derives the
vocation: the longest prefix of the code found in ``NAF_OVERRIDES`` wins, else its division
(two first digits) in ``NAF_DIVISIONS``. The table is documented in docs/matching.md.
"""

from __future__ import annotations

import re
from typing import Final

NAF_PATTERN: Final = re.compile(r"^(\d{2})\.?(\d{2})([A-Z]?)$")

# Division (two first digits of the code) -> vocation, by sections of NAF rév. 2.
NAF_DIVISIONS: Final[dict[str, str]] = {
    **dict.fromkeys(("01", "02", "03"), "logistique agricole"),  # A: agriculture, forestry
    **dict.fromkeys(("05", "06", "07", "08", "09"), "industrielle"),  # B: extraction
    **{f"{division:02d}": "industrielle" for division in range(10, 34)},  # C: manufacturing
    "35": "industrielle",  # D: energy
    **dict.fromkeys(("36", "37", "38", "39"), "industrielle"),  # E: water, waste
    "41": "artisanale",  # F: construction of buildings
    "42": "industrielle",  # civil engineering: plant, depots
    "43": "artisanale",  # specialised trades (electricians, plumbers, roofers...)
    "45": "commerciale",  # G: motor trade
    "46": "entrepôts, logistique",  # wholesale trade: stocks and shipping
    "47": "commerciale",  # retail trade
    "49": "entrepôts, logistique",  # H: land transport
    "50": "portuaire",  # water transport
    "51": "aéroportuaire, aéronautique",  # air transport
    "52": "entrepôts, logistique",  # warehousing and support activities
    "53": "entrepôts, logistique",  # postal and courier
    "55": "touristique",  # I: accommodation
    "56": "commerciale",  # food and beverage service
    **{f"{division}": "tertiaire" for division in range(58, 76)},  # J, K, L, M: offices
    **{f"{division}": "tertiaire" for division in range(77, 89)},  # N, O, P, Q
    "90": "tertiaire",  # R: arts
    "91": "tertiaire",  # libraries, museums
    "92": "tertiaire",  # gambling
    "93": "touristique",  # sports, amusement and recreation
    "94": "tertiaire",  # S: associations
    "95": "artisanale",  # repair of computers and household goods
    "96": "artisanale",  # other personal services (laundries, hairdressers...)
}

# Codes (without the dot, then classes or sub-classes) whose vocation is not their division's.
NAF_OVERRIDES: Final[dict[str, str]] = {
    "0161": "logistique agricole",  # support activities for crop production
    "1071B": "artisanale",  # cuisson de produits de boulangerie
    "1071C": "artisanale",  # boulangerie et boulangerie-pâtisserie
    "1071D": "artisanale",  # pâtisserie
    "1013B": "artisanale",  # charcuterie
    "3030": "aéroportuaire, aéronautique",  # construction aéronautique et spatiale
    "3316": "aéroportuaire, aéronautique",  # réparation et maintenance d'aéronefs
    "4520": "artisanale",  # entretien et réparation de véhicules automobiles
    "4621": "logistique agricole",  # commerce de gros de céréales, semences, aliments du bétail
    "4623": "logistique agricole",  # commerce de gros d'animaux vivants
    "5222": "portuaire",  # services auxiliaires des transports par eau
    "5223": "aéroportuaire, aéronautique",  # services auxiliaires des transports aériens
}


def normalise_naf(code: str) -> str | None:
    """``52.10B`` from ``5210b``, `` 52.10B `` or ``52.10B``; None when it is not a NAF code."""
    match = NAF_PATTERN.match(code.strip().upper())
    if match is None:
        return None
    division, group, letter = match.groups()
    return f"{division}.{group}{letter}"


def vocation_for_naf(code: str) -> str | None:
    """The CNIG vocation of a NAF code, None when the code is malformed or has none
    (households as employers, extraterritorial organisations: divisions 97 to 99)."""
    normalised = normalise_naf(code)
    if normalised is None:
        return None
    compact = normalised.replace(".", "")
    for length in range(len(compact), 3, -1):
        if compact[:length] in NAF_OVERRIDES:
            return NAF_OVERRIDES[compact[:length]]
    return NAF_DIVISIONS.get(compact[:2])
