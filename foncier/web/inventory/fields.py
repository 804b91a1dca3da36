"""Which CNIG attributes the park and plot pages show, under which heading.

Labels are the core's (foncier.inventory.cnig.labels, after the titles of the CNIG "Sites
Économiques" schemas), shared with the spreadsheet exports. The confidential sale fields of plots
(buyer, date, amount) are deliberately absent; a test keeps them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from foncier.inventory.cnig.labels import LABELS


@dataclass(frozen=True)
class Attribute:
    name: str
    label: str
    # How to show the value: text, bool, date, url, list (CNIG "a|b" lists), or a unit of
    # foncier.web.formatting.UNITS.
    kind: str = "text"


@dataclass(frozen=True)
class AttributeGroup:
    title: str
    attributes: tuple[Attribute, ...]


def group(title: str, *attributes: tuple[str, ...]) -> AttributeGroup:
    """A group of (column name, kind) pairs (kind defaults to text), labelled by the core."""
    return AttributeGroup(
        title, tuple(Attribute(name, LABELS[name], *kind) for name, *kind in attributes)
    )


SITE_GROUPS: Final = (
    group(
        "Identification",
        ("site_id",),
        ("site_type",),
        ("site_etat",),
        ("pole_id",),
        ("site_comm_insee",),
        ("site_epci_siren",),
        ("site_creation_date",),
        ("site_quali_territoire",),
        ("site_evol_urba",),
        ("site_nb_etab", "count"),
        ("site_nb_emploi", "count"),
        ("site_identif_date", "date"),
        ("site_actu_date", "date"),
        ("source_producteur",),
        ("site_url", "url"),
        ("site_media", "url"),
    ),
    group(
        "Surfaces",
        ("site_surf_brute", "ha"),
        ("site_surf_utile", "ha"),
        ("site_surf_comm_dispo", "ha"),
        ("site_surf_projet", "ha"),
    ),
    group(
        "Vocations",
        ("site_vocadomi",),
        ("site_voca_industrielle", "bool"),
        ("site_voca_commerciale", "bool"),
        ("site_voca_tertiaire", "bool"),
        ("site_voca_artisanale", "bool"),
        ("site_voca_touristique", "bool"),
        ("site_voca_portuaire", "bool"),
        ("site_voca_aeroportuaire", "bool"),
    ),
    group(
        "Réseaux",
        ("reseau_eau_potable", "bool"),
        ("reseau_eau_pluviale", "bool"),
        ("reseau_assainissement", "bool"),
        ("reseau_electrique", "bool"),
        ("reseau_gaz", "bool"),
        ("reseau_fibre_optique", "bool"),
        ("reseau_fret_ferroviaire", "bool"),
        ("reseau_fluvial", "bool"),
    ),
    group(
        "Desserte et accès",
        ("desserte_tc", "bool"),
        ("desserte_route_nom",),
        ("autoroute_nom",),
        ("autoroute_echang_dist", "km"),
        ("gare_nom",),
        ("gare_dist", "km"),
        ("gare_fret_nom",),
        ("gare_fret_dist", "km"),
        ("aeroport_nom",),
        ("aeroport_dist", "km"),
        ("port_nom",),
        ("port_dist", "km"),
    ),
    group(
        "Maîtrise d’ouvrage",
        ("site_moa_type",),
        ("site_moa_nom",),
        ("site_moa_amngt",),
        ("site_moa_comm",),
    ),
)

TERRAIN_GROUPS: Final = (
    group(
        "Identification",
        ("terr_id",),
        ("terr_refcad", "list"),
        ("terr_identif_date", "date"),
        ("terr_actu_date", "date"),
        ("terr_url_cartofriches", "url"),
    ),
    group(
        "Surface et occupation",
        ("terr_surf_brute", "ha"),
        ("terr_utile", "bool"),
        ("terr_etat_occup",),
        ("terr_vacant_depuis", "date"),
        ("terr_usage",),
    ),
    group(
        "Commercialisation",
        ("terr_stade_comm",),
        ("terr_stade_amngt",),
        ("terr_maitrise_fonc",),
        ("terr_m2_prix", "euros_m2"),
        ("terr_cle_en_main", "bool"),
    ),
    group(
        "Pour l’implantation d’une entreprise",
        ("terr_dispo_date", "date"),
        ("terr_puissance_kva", "kva"),
        ("terr_icpe_max",),
        ("terr_divisible", "bool"),
        ("terr_lot_min_ha", "ha"),
        ("terr_hauteur_max_m", "m"),
    ),
)

# How a plot page introduces each constraint zone it lies in.
ZONE_NOTICES: Final = {
    "inondation": "En zone inondable",
    "pprt": "En zone de risque technologique",
    "natura2000": "En site Natura 2000",
    "autre": "En zone de contrainte",
}
