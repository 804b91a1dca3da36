"""French labels of the CNIG columns and of foncier's extension columns, and their units.

After the titles of the CNIG "Sites Économiques" schemas, written for the people who read the
pages and the spreadsheets; the one place these labels live (the web pages use them too).
"""

from __future__ import annotations

from typing import Final

LABELS: Final[dict[str, str]] = {
    # SITE-ECO
    "site_id": "Identifiant du site",
    "pole_id": "Identifiant du pôle",
    "site_nom": "Nom du site",
    "site_type": "Type de site",
    "site_vocadomi": "Vocation dominante",
    "site_etat": "État du site",
    "site_surf_brute": "Superficie totale",
    "site_surf_utile": "Superficie utile",
    "site_creation_date": "Année de création",
    "site_identif_date": "Date d’identification",
    "site_actu_date": "Date d’actualisation",
    "source_producteur": "Producteur de la donnée",
    "site_description": "Description",
    "site_quali_territoire": "Labellisation territoriale",
    "site_evol_urba": "Type d’urbanisation",
    "site_url": "Page web",
    "site_epci_nom": "EPCI compétent",
    "site_epci_siren": "SIREN de l’EPCI compétent",
    "site_comm_nom": "Commune",
    "site_comm_insee": "Code INSEE de la commune",
    "site_moa_type": "Type de maîtrise d’ouvrage",
    "site_moa_nom": "Gestionnaire",
    "site_moa_amngt": "Aménageur",
    "site_moa_comm": "Vendeur",
    "site_uf_nbre": "Nombre d’unités foncières",
    "site_uf_vacant_nbre": "Unités foncières vacantes",
    "site_taux_vacance": "Taux de vacance",
    "site_uf_bati_nbre": "Unités foncières bâties",
    "site_nb_etab": "Nombre d’établissements",
    "site_nb_emploi": "Nombre d’emplois",
    "site_geomsurf": "Périmètre du parc",
    "site_geompoint": "Centroïde",
    "site_media": "Médias",
    "site_surf_comm_dispo": "Surface commercialisable déclarée",
    "site_surf_projet": "Surface réservée",
    "site_voca_industrielle": "Activité industrielle",
    "site_voca_commerciale": "Activité commerciale",
    "site_voca_tertiaire": "Activité tertiaire",
    "site_voca_artisanale": "Activité artisanale",
    "site_voca_touristique": "Activité touristique",
    "site_voca_portuaire": "Activité portuaire",
    "site_voca_aeroportuaire": "Activité aéroportuaire",
    "reseau_eau_pluviale": "Eaux pluviales",
    "reseau_eau_potable": "Eau potable",
    "reseau_assainissement": "Assainissement",
    "reseau_gaz": "Gaz",
    "reseau_electrique": "Électricité",
    "reseau_fibre_optique": "Fibre optique",
    "reseau_fret_ferroviaire": "Embranchement ferroviaire (ITE)",
    "reseau_fluvial": "Réseau fluvial",
    "desserte_tc": "Transports en commun",
    "desserte_route_nom": "Desserte routière principale",
    "autoroute_nom": "Autoroute la plus proche",
    "autoroute_echang_dist": "Distance à l’échangeur le plus proche",
    "gare_nom": "Gare de voyageurs",
    "gare_dist": "Distance à la gare de voyageurs",
    "gare_fret_nom": "Gare de fret",
    "gare_fret_dist": "Distance à la gare de fret",
    "aeroport_nom": "Aéroport",
    "aeroport_dist": "Distance à l’aéroport",
    "port_nom": "Port",
    "port_dist": "Distance au port",
    # TERRAIN-ECO
    "terr_id": "Identifiant du terrain",
    "terr_refcad": "Parcelles cadastrales",
    "terr_surf_brute": "Superficie brute",
    "terr_utile": "Compté dans la superficie utile",
    "terr_identif_date": "Date d’identification",
    "terr_actu_date": "Date d’actualisation",
    "terr_maitrise_fonc": "Maîtrise foncière",
    "terr_stade_amngt": "Stade d’aménagement",
    "terr_stade_comm": "Stade de commercialisation",
    "terr_etat_occup": "État d’occupation",
    "terr_usage": "Usage du terrain",
    "terr_url_cartofriches": "Fiche Cartofriches",
    "terr_geomsurf": "Contour du terrain",
    "terr_cle_en_main": "Terrain clé en main",
    "terr_acquereur": "Acquéreur",
    "terr_cession_date": "Date de cession",
    "terr_vente_montant": "Montant de la vente",
    "terr_m2_prix": "Prix",
    # foncier's extensions of TERRAIN-ECO
    "terr_dispo_date": "Date de disponibilité",
    "terr_puissance_kva": "Puissance électrique disponible",
    "terr_icpe_max": "Régime ICPE maximal admis",
    "terr_divisible": "Divisible",
    "terr_lot_min_ha": "Lot minimal",
    "terr_hauteur_max_m": "Hauteur maximale des constructions",
    "terr_vacant_depuis": "Sans activité depuis le",
}

# The unit of a number, for the headers of spreadsheets that hold numbers without units.
UNITS: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "site_surf_brute",
            "site_surf_utile",
            "site_surf_comm_dispo",
            "site_surf_projet",
            "terr_surf_brute",
            "terr_lot_min_ha",
        ),
        "ha",
    ),
    **dict.fromkeys(
        (
            "autoroute_echang_dist",
            "gare_dist",
            "gare_fret_dist",
            "aeroport_dist",
            "port_dist",
        ),
        "km",
    ),
    "site_taux_vacance": "%",
    "terr_m2_prix": "€/m²",
    "terr_vente_montant": "€",
    "terr_puissance_kva": "kVA",
    "terr_hauteur_max_m": "m",
}


def label(name: str) -> str:
    return LABELS[name]


def header(name: str) -> str:
    """A column's label with its unit, for a spreadsheet: « Superficie totale (ha) »."""
    unit = UNITS.get(name)
    return f"{LABELS[name]} ({unit})" if unit else LABELS[name]
