"""What a statement on terrain costs the matching table: its trigger reads the plots it was
given by their primary key, never the whole inventory (sql/triggers/matching_refresh_plots_v2)."""

from __future__ import annotations

from sqlalchemy import text

MORE_PLOTS = 5000


def terrain_scans(session) -> tuple[int, int]:
    """Sequential and index scans of terrain in the current transaction so far."""
    row = session.execute(
        text(
            "SELECT coalesce(seq_scan, 0), coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables "
            "WHERE relname = 'terrain'"
        )
    ).one()
    return row[0], row[1]


def test_updating_one_plot_refreshes_its_row_without_reading_every_plot(session):
    # An inventory large enough for the planner to tell a scan of every plot from a lookup:
    # copies of a plot on offer, under new ids, then fresh statistics.
    terr_id = session.execute(
        text("SELECT terr_id FROM matching_plot ORDER BY terr_id LIMIT 1")
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO terrain SELECT (jsonb_populate_record(t, jsonb_build_object("
            "'terr_id', '37167_TERRAIN-ECO_' || (80000 + n)))).* "
            "FROM terrain t, generate_series(1, :count) n WHERE t.terr_id = :id"
        ),
        {"id": terr_id, "count": MORE_PLOTS},
    )
    session.execute(text("ANALYZE terrain"))
    before = terrain_scans(session)

    session.execute(
        text("UPDATE terrain SET terr_m2_prix = 12.5 WHERE terr_id = :id"), {"id": terr_id}
    )

    after = terrain_scans(session)
    seq_scans, index_scans = after[0] - before[0], after[1] - before[1]
    # v1 computed matching_plot_source for every plot on offer (a sequential scan) and kept
    # this one: 2 s a statement with 20,000 plots, hours for an import's updates.
    assert seq_scans == 0 and index_scans > 0
    price = session.execute(
        text("SELECT price_eur_m2 FROM matching_plot WHERE terr_id = :id"), {"id": terr_id}
    ).scalar_one()
    assert price == 12.5
