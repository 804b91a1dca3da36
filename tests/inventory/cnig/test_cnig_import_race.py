"""Two transactions creating the same park at once: the import that loses the race is
refused with a clear message, not a server error, and writes nothing."""

from __future__ import annotations

import psycopg
from cnig_helpers import CsvTable
from concurrency import libpq_url, race_for_a_lock
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.errors import ImportConflictError
from foncier.core.permissions import Actor
from foncier.inventory.cnig import SourceFile, import_cnig

RACED_ID_SUFFIX = "_SITE-ECO_99777"


def test_an_import_creating_a_park_someone_else_just_created_is_refused_cleanly(
    engine: Engine, sites_table: CsvTable
) -> None:
    model = sites_table.rows[0]
    raced_id = model["site_comm_insee"] + RACED_ID_SUFFIX
    table = CsvTable(sites_table.header, [dict(model, site_id=raced_id)])
    sites = SourceFile("parcs.csv", table.text().encode())
    with psycopg.connect(libpq_url(engine)) as other:
        # Someone else creates the same park and has not committed yet.
        other.execute(
            "CREATE TEMPORARY TABLE raced AS SELECT * FROM site WHERE site_id = %s",
            (model["site_id"],),
        )
        other.execute("UPDATE raced SET site_id = %s", (raced_id,))
        other.execute("INSERT INTO site SELECT * FROM raced")
        try:
            with Session(engine) as session:
                audit.acting_as(session, Actor.system("tests"))
                pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
                outcome = race_for_a_lock(
                    engine, pid, lambda: import_cnig(session, sites=sites), other.commit
                )
            assert outcome.waited
            assert isinstance(outcome.error, ImportConflictError)
            assert "created a park or plot with an identifier of this import" in str(outcome.error)
        finally:
            other.rollback()
            other.execute("DELETE FROM site WHERE site_id = %s", (raced_id,))
            other.commit()
