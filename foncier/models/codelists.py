"""Code lists of the CNIG "Sites Économiques" standard (v2024-10) and of foncier's extensions.

Values are stored verbatim in the database, so CNIG exports need no mapping. The lists are
those of the standard's strict TableSchemas (which add the conventional "inconnu", "autre",
"sans objet" values); a test compares them with the schemas so that they cannot drift.
"""

from __future__ import annotations

from typing import Final

CONVENTIONAL: Final = ("inconnu", "autre", "sans objet")

SITE_TYPE: Final = (
    "zone d'activité économique",
    "site économique historique hors ZAE",
    "établissement économique isolé",
    "zone AU à vocation économique",
    *CONVENTIONAL,
)

SITE_VOCADOMI: Final = (
    "industrielle",
    "commerciale",
    "tertiaire",
    "artisanale",
    "touristique",
    "portuaire",
    "aéroportuaire, aéronautique",
    "entrepôts, logistique",
    "logistique agricole",
    "mixte",
    *CONVENTIONAL,
)

SITE_ETAT: Final = (
    "en projet",
    "création",
    "existant et actif",
    "projet de déclassement",
    "déclassé",
    *CONVENTIONAL,
)

SITE_EVOL_URBA: Final = ("extension urbaine", "renouvellement urbain", "mixte", *CONVENTIONAL)

SITE_MOA_TYPE: Final = (
    "commune",
    "epci",
    "société d'économie mixte",
    "chambre de commerce et industrie",
    "Etat",
    "privé",
    *CONVENTIONAL,
)

TERR_MAITRISE_FONC: Final = (
    "personne physique",
    "Etat",
    "région",
    "département",
    "structure intercommunale",
    "commune",
    "autre collectivité territoriale",
    "organisme de logement social",
    "établissement public foncier",
    "SEM ou SPLA",
    "aménageur",
    "investisseur professionnel",
    "établissement de santé et structure sociale",
    "établissement de tourisme et structure de loisir sportive ou cultuelle",
    "établissement industriel et commercial",
    "organisation de gestion foncière et immobilière",
    "établissement d'enseignement d'étude et de recherche",
    *CONVENTIONAL,
)

TERR_STADE_AMNGT: Final = (
    "non aménageable",
    "non aménagé, non viabilisé",
    "viabilisation en cours",
    "viabilisé non aménagé",
    "viabilisé et aménagé",
    *CONVENTIONAL,
)

TERR_STADE_COMM: Final = (
    "non commercialisé",
    "non commercialisable",
    "en vente",
    "en vente avec contraintes",
    "vendu, commercialisation achevée",
    "réservé par option de réservation",
    "réservé par une délibération de l'EPCI",
    *CONVENTIONAL,
)

TERR_ETAT_OCCUP: Final = (
    "inoccupé",
    "occupation transitoire",
    "occupé",
    "vacant",
    "friche",
    *CONVENTIONAL,
)

TERR_USAGE: Final = (
    "voirie ou infrastructure",
    "parkings, stationnement",
    "zone de retournement poids-lourds",
    "autres équipements publics",
    "bâti productif",
    "bâti résidentiel",
    "bassin d'orage ou de rétention",
    "espace vert",
    "espace naturel ou forestier",
    "espace agricole",
    "zone de service partagée entre entreprises",
    "carrières, zones d'extraction",
    "dépôt, stockage",
    "production d’énergie renouvelable",
    *CONVENTIONAL,
)

GEOCODAGE_QUALITE: Final = (
    "non localisé",
    "localisation à la commune",
    "localisation au lieu-dit",
    "localisation à la rue (sans numéro)",
    "localisation à la plaque adresse",
    "localisation à la parcelle",
    "localisation au bâtiment",
    *CONVENTIONAL,
)

# foncier's extension: the most demanding ICPE (classified installation) regime a plot accepts,
# from least to most demanding; a plot accepting one regime accepts every lower one.
ICPE_REGIMES: Final = (
    "aucun",
    "déclaration",
    "enregistrement",
    "autorisation",
    "seveso seuil bas",
    "seveso seuil haut",
)

ZONE_TYPES: Final = ("inondation", "pprt", "natura2000", "autre")
ZONE_TYPE_LABELS: Final = {
    "inondation": "Zone inondable (PPRI)",
    "pprt": "Risque technologique (PPRT, Seveso)",
    "natura2000": "Natura 2000",
    "autre": "Autre contrainte",
}

# Marketing stages under which a plot can be offered to a company today.
STADES_DISPONIBLES: Final = ("en vente", "en vente avec contraintes")
# Occupation states that count as vacant in the sense of article L318-8-2 of the Code de
# l'urbanisme: the plot had an activity before and no longer has one.
ETATS_VACANTS: Final = ("vacant", "friche")
# CNIG columns of a plot's sale (who bought it, when, for how much): commercial or personal
# data (RGPD): never shown nor served for now, and left empty in CNIG exports unless asked
# for (--confidential).
CONFIDENTIAL_TERRAIN_FIELDS: Final = frozenset(
    {"terr_acquereur", "terr_cession_date", "terr_vente_montant"}
)

# Legend of the maps: one colour per marketing stage (colour-blind-safe palette).
STADE_COMM_COLOURS: Final = {
    "en vente": "#1b9e77",
    "en vente avec contraintes": "#66a61e",
    "réservé par option de réservation": "#e6ab02",
    "réservé par une délibération de l'EPCI": "#d95f02",
    "vendu, commercialisation achevée": "#7570b3",
    "non commercialisé": "#a6761d",
    "non commercialisable": "#666666",
    "inconnu": "#bbbbbb",
    "autre": "#bbbbbb",
    "sans objet": "#bbbbbb",
}

CODE_LISTS: Final = {
    "site_type": SITE_TYPE,
    "site_vocadomi": SITE_VOCADOMI,
    "site_etat": SITE_ETAT,
    "site_evol_urba": SITE_EVOL_URBA,
    "site_moa_type": SITE_MOA_TYPE,
    "terr_maitrise_fonc": TERR_MAITRISE_FONC,
    "terr_stade_amngt": TERR_STADE_AMNGT,
    "terr_stade_comm": TERR_STADE_COMM,
    "terr_etat_occup": TERR_ETAT_OCCUP,
    "terr_usage": TERR_USAGE,
    "terr_icpe_max": ICPE_REGIMES,
    "geocodage_qualite": GEOCODAGE_QUALITE,
}
