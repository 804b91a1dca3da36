"""The columns of the CNIG SITE-ECO and TERRAIN-ECO CSV files, in the official schemas' order.

Transcribed from the standard's TableSchemas (schema v1.0.1: site-eco/schema.json and
terrain-eco/schema.json of cnigfr/schema-sites-economiques), with their ``required`` flags and
patterns, so that foncier needs no copy of the standard at run time; tests compare this list
with the schemas. Each column also says how foncier reads and writes it (``kind``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Kind(StrEnum):
    TEXT = "text"
    ID = "id"
    NUMBER = "number"
    INTEGER = "integer"
    YEAR = "year"
    DATE = "date"
    BOOLEAN = "boolean"
    CODE = "code"
    URL = "url"
    REFCAD = "refcad"
    GEOMETRY = "geometry"
    GEOPOINT = "geopoint"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    # False for the columns the standard computes from other data (counts of plots, names of
    # reference tables): read and checked, never stored.
    stored: bool = True
    # ID: the class of the identifier (SITE-ECO...); GEOMETRY: the accepted GeoJSON types.
    detail: str | tuple[str, ...] = ""


def _id(name: str, id_class: str) -> Column:
    return Column(name, Kind.ID, required=True, detail=id_class)


def _computed(name: str, kind: Kind, *, required: bool = False) -> Column:
    return Column(name, kind, required=required, stored=False)


def _booleans(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, Kind.BOOLEAN) for name in names)


def _named_distance(place: str) -> tuple[Column, Column]:
    return Column(f"{place}_nom", Kind.TEXT), Column(f"{place}_dist", Kind.NUMBER)


SITE_COLUMNS: Final = (
    _id("site_id", "SITE-ECO"),
    _id("pole_id", "POLE-ECO"),
    Column("site_nom", Kind.TEXT, required=True),
    Column("site_type", Kind.CODE, required=True),
    Column("site_vocadomi", Kind.CODE, required=True),
    Column("site_etat", Kind.CODE, required=True),
    Column("site_surf_brute", Kind.NUMBER, required=True),
    Column("site_surf_utile", Kind.NUMBER, required=True),
    Column("site_creation_date", Kind.YEAR),
    Column("site_identif_date", Kind.DATE, required=True),
    Column("site_actu_date", Kind.DATE, required=True),
    Column("source_producteur", Kind.TEXT),
    Column("site_description", Kind.TEXT),
    Column("site_quali_territoire", Kind.TEXT),
    Column("site_evol_urba", Kind.CODE),
    Column("site_url", Kind.URL),
    _computed("site_epci_nom", Kind.TEXT, required=True),
    Column("site_epci_siren", Kind.TEXT, required=True),
    _computed("site_comm_nom", Kind.TEXT, required=True),
    Column("site_comm_insee", Kind.TEXT, required=True),
    Column("site_moa_type", Kind.CODE, required=True),
    Column("site_moa_nom", Kind.TEXT),
    Column("site_moa_amngt", Kind.TEXT),
    Column("site_moa_comm", Kind.TEXT),
    _computed("site_uf_nbre", Kind.INTEGER),
    _computed("site_uf_vacant_nbre", Kind.INTEGER),
    _computed("site_taux_vacance", Kind.INTEGER),
    _computed("site_uf_bati_nbre", Kind.INTEGER),
    Column("site_nb_etab", Kind.INTEGER),
    Column("site_nb_emploi", Kind.INTEGER),
    Column("site_geomsurf", Kind.GEOMETRY, required=True, detail=("Polygon", "MultiPolygon")),
    _computed("site_geompoint", Kind.GEOPOINT),
    Column("site_media", Kind.URL),
    Column("site_surf_comm_dispo", Kind.NUMBER),
    Column("site_surf_projet", Kind.NUMBER),
    *_booleans(
        "site_voca_industrielle",
        "site_voca_commerciale",
        "site_voca_tertiaire",
        "site_voca_artisanale",
        "site_voca_touristique",
        "site_voca_portuaire",
        "site_voca_aeroportuaire",
        "reseau_eau_pluviale",
        "reseau_eau_potable",
        "reseau_assainissement",
        "reseau_gaz",
        "reseau_electrique",
        "reseau_fibre_optique",
        "reseau_fret_ferroviaire",
        "reseau_fluvial",
        "desserte_tc",
    ),
    Column("desserte_route_nom", Kind.TEXT),
    Column("autoroute_nom", Kind.TEXT),
    Column("autoroute_echang_dist", Kind.NUMBER),
    *_named_distance("gare"),
    *_named_distance("gare_fret"),
    *_named_distance("aeroport"),
    *_named_distance("port"),
)

TERRAIN_COLUMNS: Final = (
    _id("terr_id", "TERRAIN-ECO"),
    _id("site_id", "SITE-ECO"),
    Column("terr_refcad", Kind.REFCAD),
    Column("terr_surf_brute", Kind.NUMBER, required=True),
    Column("terr_utile", Kind.BOOLEAN),
    Column("terr_identif_date", Kind.DATE, required=True),
    Column("terr_actu_date", Kind.DATE, required=True),
    Column("terr_maitrise_fonc", Kind.CODE, required=True),
    Column("terr_stade_amngt", Kind.CODE, required=True),
    Column("terr_stade_comm", Kind.CODE, required=True),
    Column("terr_etat_occup", Kind.CODE, required=True),
    Column("terr_usage", Kind.CODE, required=True),
    Column("terr_url_cartofriches", Kind.URL),
    Column("terr_geomsurf", Kind.GEOMETRY, required=True, detail=("Polygon",)),
    Column("terr_cle_en_main", Kind.BOOLEAN),
    Column("terr_acquereur", Kind.TEXT),
    Column("terr_cession_date", Kind.DATE),
    Column("terr_vente_montant", Kind.NUMBER),
    Column("terr_m2_prix", Kind.NUMBER),
)

# foncier's additions to TERRAIN-ECO: what companies ask about, and the start of vacancy that
# the legal vacancy rate needs. Optional on import, written only by ``--with-extensions``.
TERRAIN_EXTENSIONS: Final = (
    Column("terr_dispo_date", Kind.DATE),
    Column("terr_puissance_kva", Kind.INTEGER),
    Column("terr_icpe_max", Kind.CODE),
    Column("terr_divisible", Kind.BOOLEAN),
    Column("terr_lot_min_ha", Kind.NUMBER),
    Column("terr_hauteur_max_m", Kind.NUMBER),
    Column("terr_vacant_depuis", Kind.DATE),
)

# The site_summary view's column each computed count of SITE-ECO is read from (exports).
FROM_SITE_SUMMARY: Final = {
    "site_uf_nbre": "uf_nbre",
    "site_uf_vacant_nbre": "uf_vacant_nbre",
    "site_taux_vacance": "taux_vacance",
    "site_uf_bati_nbre": "uf_bati_nbre",
}

# Numbers that must be strictly positive (the database refuses zero); every other number of
# the standard (surfaces, distances, counts, prices) must not be negative.
STRICTLY_POSITIVE: Final = ("terr_surf_brute", "terr_lot_min_ha", "terr_hauteur_max_m")
