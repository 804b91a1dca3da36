"""Two transactions creating the same park at once: the import that loses the race is
refused with a clear message, not a server error, and writes nothing."""

from __future__ import annotations

import threading

import psycopg
from cnig_helpers import CsvTable
from concurrency import libpq_url, waits_for_a_lock
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.errors import ImportConflictError
from foncier.core.permissions import Actor
from foncier.inventory.cnig import SourceFile, import_cnig

RACED_ID_SUFFIX = "_SITE-ECO_99777"


def _import_in_a_thread(engine: Engine, table: CsvTable, outcome: dict) -> threading.Thread:
    def run() -> None:
        with Session(engine) as session:
            audit.acting_as(session, Actor.system("tests"))
            outcome["pid"] = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            try:
                import_cnig(session, sites=SourceFile("parcs.csv", table.text().encode()))
            except ImportConflictError as error:
                outcome["error"] = error
            finally:
                session.rollback()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_an_import_creating_a_park_someone_else_just_created_is_refused_cleanly(
    engine: Engine, sites_table: CsvTable
) -> None:
    model = sites_table.rows[0]
    raced_id = model["site_comm_insee"] + RACED_ID_SUFFIX
    table = CsvTable(sites_table.header, [dict(model, site_id=raced_id)])
    with psycopg.connect(libpq_url(engine)) as other:
        # Someone else creates the same park and has not committed yet.
        other.execute(
            "CREATE TEMPORARY TABLE raced AS SELECT * FROM site WHERE site_id = %s",
            (model["site_id"],),
        )
        other.execute("UPDATE raced SET site_id = %s", (raced_id,))
        other.execute("INSERT INTO site SELECT * FROM raced")
        outcome: dict = {}
        thread = _import_in_a_thread(engine, table, outcome)
        try:
            while "pid" not in outcome and thread.is_alive():
                thread.join(0.02)
            assert waits_for_a_lock(engine, outcome["pid"], running=thread)
            other.commit()
            thread.join(30)
            assert "created a park or plot with an identifier of this import" in str(
                outcome["error"]
            )
        finally:
            other.rollback()
            other.execute("DELETE FROM site WHERE site_id = %s", (raced_id,))
            other.commit()
