"""Which CNIG attributes the park and plot pages show, under which French label and heading.

Labels follow the titles of the CNIG "Sites Économiques" schemas. The confidential sale fields
of plots (buyer, date, amount) are deliberately absent; a test keeps them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


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
    return AttributeGroup(title, tuple(Attribute(*attribute) for attribute in attributes))


SITE_GROUPS: Final = (
    group(
        "Identification",
        ("site_id", "Identifiant du site"),
        ("site_type", "Type de site"),
        ("site_etat", "État du site"),
        ("pole_id", "Identifiant du pôle"),
        ("site_comm_insee", "Code INSEE de la commune"),
        ("site_epci_siren", "SIREN de l’EPCI compétent"),
        ("site_creation_date", "Année de création"),
        ("site_quali_territoire", "Labellisation territoriale"),
        ("site_evol_urba", "Type d’urbanisation"),
        ("site_nb_etab", "Nombre d’établissements", "count"),
        ("site_nb_emploi", "Nombre d’emplois", "count"),
        ("site_identif_date", "Date d’identification", "date"),
        ("site_actu_date", "Date d’actualisation", "date"),
        ("source_producteur", "Producteur de la donnée"),
        ("site_url", "Page web", "url"),
        ("site_media", "Médias", "url"),
    ),
    group(
        "Surfaces",
        ("site_surf_brute", "Superficie totale", "ha"),
        ("site_surf_utile", "Superficie utile", "ha"),
        ("site_surf_comm_dispo", "Surface commercialisable déclarée", "ha"),
        ("site_surf_projet", "Surface réservée", "ha"),
    ),
    group(
        "Vocations",
        ("site_vocadomi", "Vocation dominante"),
        ("site_voca_industrielle", "Activité industrielle", "bool"),
        ("site_voca_commerciale", "Activité commerciale", "bool"),
        ("site_voca_tertiaire", "Activité tertiaire", "bool"),
        ("site_voca_artisanale", "Activité artisanale", "bool"),
        ("site_voca_touristique", "Activité touristique", "bool"),
        ("site_voca_portuaire", "Activité portuaire", "bool"),
        ("site_voca_aeroportuaire", "Activité aéroportuaire", "bool"),
    ),
    group(
        "Réseaux",
        ("reseau_eau_potable", "Eau potable", "bool"),
        ("reseau_eau_pluviale", "Eaux pluviales", "bool"),
        ("reseau_assainissement", "Assainissement", "bool"),
        ("reseau_electrique", "Électricité", "bool"),
        ("reseau_gaz", "Gaz", "bool"),
        ("reseau_fibre_optique", "Fibre optique", "bool"),
        ("reseau_fret_ferroviaire", "Embranchement ferroviaire (ITE)", "bool"),
        ("reseau_fluvial", "Réseau fluvial", "bool"),
    ),
    group(
        "Desserte et accès",
        ("desserte_tc", "Transports en commun", "bool"),
        ("desserte_route_nom", "Desserte routière principale"),
        ("autoroute_nom", "Autoroute la plus proche"),
        ("autoroute_echang_dist", "Distance à l’échangeur le plus proche", "km"),
        ("gare_nom", "Gare de voyageurs"),
        ("gare_dist", "Distance à la gare de voyageurs", "km"),
        ("gare_fret_nom", "Gare de fret"),
        ("gare_fret_dist", "Distance à la gare de fret", "km"),
        ("aeroport_nom", "Aéroport"),
        ("aeroport_dist", "Distance à l’aéroport", "km"),
        ("port_nom", "Port"),
        ("port_dist", "Distance au port", "km"),
    ),
    group(
        "Maîtrise d’ouvrage",
        ("site_moa_type", "Type de maîtrise d’ouvrage"),
        ("site_moa_nom", "Gestionnaire"),
        ("site_moa_amngt", "Aménageur"),
        ("site_moa_comm", "Vendeur"),
    ),
)

TERRAIN_GROUPS: Final = (
    group(
        "Identification",
        ("terr_id", "Identifiant du terrain"),
        ("terr_refcad", "Parcelles cadastrales", "list"),
        ("terr_identif_date", "Date d’identification", "date"),
        ("terr_actu_date", "Date d’actualisation", "date"),
        ("terr_url_cartofriches", "Fiche Cartofriches", "url"),
    ),
    group(
        "Surface et occupation",
        ("terr_surf_brute", "Superficie brute", "ha"),
        ("terr_utile", "Compté dans la superficie utile", "bool"),
        ("terr_etat_occup", "État d’occupation"),
        ("terr_vacant_depuis", "Sans activité depuis le", "date"),
        ("terr_usage", "Usage du terrain"),
    ),
    group(
        "Commercialisation",
        ("terr_stade_comm", "Stade de commercialisation"),
        ("terr_stade_amngt", "Stade d’aménagement"),
        ("terr_maitrise_fonc", "Maîtrise foncière"),
        ("terr_m2_prix", "Prix", "euros_m2"),
        ("terr_cle_en_main", "Terrain clé en main", "bool"),
    ),
    group(
        "Pour l’implantation d’une entreprise",
        ("terr_dispo_date", "Date de disponibilité", "date"),
        ("terr_puissance_kva", "Puissance électrique disponible", "kva"),
        ("terr_icpe_max", "Régime ICPE maximal admis"),
        ("terr_divisible", "Divisible", "bool"),
        ("terr_lot_min_ha", "Lot minimal", "ha"),
        ("terr_hauteur_max_m", "Hauteur maximale des constructions", "m"),
    ),
)

# How a plot page introduces each constraint zone it lies in.
ZONE_NOTICES: Final = {
    "inondation": "En zone inondable",
    "pprt": "En zone de risque technologique",
    "natura2000": "En site Natura 2000",
    "autre": "En zone de contrainte",
}
