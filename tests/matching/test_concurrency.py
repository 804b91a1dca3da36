"""The matching triggers under concurrent transactions: two real connections to a throwaway
database (never the shared test database: these transactions commit).

Each scenario starts transaction A, then runs B's statement in a thread (race_for_a_lock): B has
to wait for A (the triggers' locks), A commits while B waits, and B then sees A's change.
Afterwards matching_plot must equal the view it stores, and the plot count the inventory's.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from concurrency import RaceOutcome, race_for_a_lock

# Zones far south of Indre-et-Loire, where no plot lies until a test moves one there.
FAR_SOUTH_M = 200_000
INSERT_COPY = """
    INSERT INTO terrain SELECT (jsonb_populate_record(null::terrain,
        to_jsonb(t) || jsonb_build_object('terr_id', %(new)s::text))).*
    FROM terrain t WHERE terr_id = %(model)s"""
INSERT_ZONE_FAR_SOUTH = """
    INSERT INTO constraint_zone (zone_type, nom, source, geom)
    SELECT 'natura2000', 'Zone d’essai', 'test_concurrency',
           ST_Multi(ST_Buffer(ST_Translate(terr_geomsurf, 0, -%(far)s), 1))
    FROM terrain WHERE terr_id = %(plot)s"""
MOVE_FAR_SOUTH = """
    UPDATE terrain SET terr_geomsurf = ST_Translate(terr_geomsurf, 0, -%(far)s)
    WHERE terr_id = %(plot)s"""


@pytest.fixture(scope="module")
def dsn(database_builder) -> str:
    return database_builder("foncier_concurrency").replace("postgresql+psycopg", "postgresql")


@pytest.fixture
def connect(dsn) -> Iterator:
    opened: list[psycopg.Connection] = []

    def open_one() -> psycopg.Connection:
        opened.append(psycopg.connect(dsn))
        return opened[-1]

    yield open_one
    for connection in opened:
        connection.close()


@pytest.fixture
def plot(dsn) -> Iterator[tuple[str, str]]:
    """A plot on offer and its park, both put back as they were afterwards."""
    with psycopg.connect(dsn) as connection:
        terr_id, site_id = connection.execute(
            "SELECT terr_id, site_id FROM terrain WHERE terr_stade_comm = 'en vente'"
            " ORDER BY terr_id LIMIT 1"
        ).fetchone()
        saved_plot = connection.execute(
            "SELECT to_jsonb(t) FROM terrain t WHERE terr_id = %s", (terr_id,)
        ).fetchone()[0]
        saved_park = connection.execute(
            "SELECT to_jsonb(s) FROM site s WHERE site_id = %s", (site_id,)
        ).fetchone()[0]
    yield terr_id, site_id
    with psycopg.connect(dsn) as connection:
        connection.execute("DELETE FROM constraint_zone WHERE source = 'test_concurrency'")
        connection.execute("DELETE FROM terrain WHERE terr_id LIKE '%%_TERRAIN-ECO_9999_'")
        connection.execute(
            "UPDATE terrain t SET site_id = r.site_id, terr_geomsurf = r.terr_geomsurf,"
            " terr_m2_prix = r.terr_m2_prix"
            " FROM jsonb_populate_record(null::terrain, %s) r WHERE t.terr_id = r.terr_id",
            (psycopg.types.json.Jsonb(saved_plot),),
        )
        connection.execute(
            "UPDATE site s SET reseau_gaz = r.reseau_gaz,"
            " reseau_fret_ferroviaire = r.reseau_fret_ferroviaire"
            " FROM jsonb_populate_record(null::site, %s) r WHERE s.site_id = r.site_id",
            (psycopg.types.json.Jsonb(saved_park),),
        )


def assert_matching_data_is_right(dsn: str) -> None:
    with psycopg.connect(dsn) as connection:
        wrong = connection.execute(
            "SELECT terr_id FROM matching_plot m FULL JOIN matching_plot_source s USING (terr_id)"
            " WHERE (m.*)::text IS DISTINCT FROM (s.*)::text"
        ).fetchall()
        counted, plots = connection.execute(
            "SELECT (SELECT sum(delta) FROM matching_plot_count), (SELECT count(*) FROM terrain)"
        ).fetchone()
    assert wrong == []
    assert counted == plots


def race(connect, first: tuple[str, dict], second: tuple[str, dict]) -> None:
    """A runs ``first``; B runs ``second`` meanwhile and waits for A; A commits, then B."""
    a, b, observer = connect(), connect(), connect()
    observer.autocommit = True
    a.execute(*first)
    outcome = race_for_a_lock(observer, b.info.backend_pid, lambda: b.execute(*second), a.commit)
    assert outcome == RaceOutcome(waited=True, error=None)
    b.commit()


def test_a_plot_edit_and_a_park_edit_at_once_both_succeed(dsn, connect, plot):
    terr_id, site_id = plot
    race(
        connect,
        ("UPDATE terrain SET terr_m2_prix = 12.5 WHERE terr_id = %(t)s", {"t": terr_id}),
        ("UPDATE site SET reseau_gaz = NOT coalesce(reseau_gaz, false) WHERE site_id = %(s)s",
         {"s": site_id}),
    )  # fmt: skip
    assert_matching_data_is_right(dsn)


def test_a_new_plot_gets_the_networks_its_park_gained_meanwhile(dsn, connect, plot):
    terr_id, site_id = plot
    race(
        connect,
        (INSERT_COPY, {"new": terr_id[:-5] + "99991", "model": terr_id}),
        ("UPDATE site SET reseau_fret_ferroviaire = NOT coalesce(reseau_fret_ferroviaire, false)"
         " WHERE site_id = %(s)s", {"s": site_id}),
    )  # fmt: skip
    assert_matching_data_is_right(dsn)


def test_a_plot_moved_to_another_park_gets_that_park_s_networks(dsn, connect, plot):
    terr_id, site_id = plot
    with psycopg.connect(dsn) as connection:
        other = connection.execute(
            "SELECT site_id FROM site WHERE site_id <> %s ORDER BY site_id LIMIT 1", (site_id,)
        ).fetchone()[0]
    race(
        connect,
        ("UPDATE terrain SET site_id = %(s)s WHERE terr_id = %(t)s", {"s": other, "t": terr_id}),
        ("UPDATE site SET reseau_fret_ferroviaire = NOT coalesce(reseau_fret_ferroviaire, false)"
         " WHERE site_id = %(s)s", {"s": other}),
    )  # fmt: skip
    assert_matching_data_is_right(dsn)


@pytest.mark.parametrize("zone_first", [False, True], ids=["plot-first", "zone-first"])
def test_a_plot_moving_into_a_zone_imported_meanwhile_is_flagged(dsn, connect, plot, zone_first):
    terr_id, _ = plot
    move = (MOVE_FAR_SOUTH, {"far": FAR_SOUTH_M, "plot": terr_id})
    zone = (INSERT_ZONE_FAR_SOUTH, {"far": FAR_SOUTH_M, "plot": terr_id})
    race(connect, *((zone, move) if zone_first else (move, zone)))
    assert_matching_data_is_right(dsn)
    with psycopg.connect(dsn) as connection:
        zones = connection.execute(
            "SELECT zones FROM matching_plot WHERE terr_id = %s", (terr_id,)
        ).fetchone()[0]
    assert zones & 4  # natura2000


def test_creating_plots_while_editing_the_same_plots_does_not_deadlock(dsn, connect, plot):
    """A creates a plot, B edits plot U, A edits U (waits for B), B creates a plot: with one
    counter row B would wait for A too."""
    terr_id, _ = plot
    a, b, observer = connect(), connect(), connect()
    observer.autocommit = True
    a.execute(INSERT_COPY, {"new": terr_id[:-5] + "99992", "model": terr_id})
    b.execute("UPDATE terrain SET terr_m2_prix = 7 WHERE terr_id = %s", (terr_id,))

    def b_creates_a_plot_and_commits() -> None:
        b.execute(INSERT_COPY, {"new": terr_id[:-5] + "99993", "model": terr_id})
        b.commit()

    outcome = race_for_a_lock(
        observer,
        a.info.backend_pid,
        lambda: a.execute("UPDATE terrain SET terr_m2_prix = 8 WHERE terr_id = %s", (terr_id,)),
        b_creates_a_plot_and_commits,
    )
    assert outcome == RaceOutcome(waited=True, error=None)
    a.commit()
    assert_matching_data_is_right(dsn)


def test_the_plot_count_stays_right_when_its_rows_are_folded(dsn, connect, plot):
    terr_id, _ = plot
    a = connect()
    for _ in range(300):  # more than the folding period (256 rows)
        a.execute(INSERT_COPY, {"new": terr_id[:-5] + "99994", "model": terr_id})
        a.execute("DELETE FROM terrain WHERE terr_id = %s", (terr_id[:-5] + "99994",))
    a.commit()
    assert_matching_data_is_right(dsn)
    rows = a.execute("SELECT count(*) FROM matching_plot_count").fetchone()[0]
    assert rows < 600
