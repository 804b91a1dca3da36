"""Round trip: export the demo, import into an empty inventory, export again: the same files."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foncier.inventory.cnig import export_cnig, import_cnig
from foncier.models import Site, Terrain


def round_trip(session, empty_session, tmp_path, **options):
    first, second = tmp_path / "first", tmp_path / "second"
    export_cnig(session, first, **options)
    report = import_cnig(
        empty_session, sites=first / "site-eco.csv", terrains=first / "terrain-eco.csv"
    )
    export_cnig(empty_session, second, **options)
    return report, first, second


@pytest.mark.parametrize("confidential", [False, True], ids=["public", "confidential"])
@pytest.mark.parametrize("with_extensions", [False, True], ids=["pure-cnig", "extensions"])
def test_round_trip_gives_identical_files(
    session, empty_session, tmp_path, with_extensions, confidential
):
    report, first, second = round_trip(
        session, empty_session, tmp_path, with_extensions=with_extensions, confidential=confidential
    )
    sites = session.scalar(select(func.count()).select_from(Site))
    terrains = session.scalar(select(func.count()).select_from(Terrain))
    assert (report.sites.created, report.terrains.created) == (sites, terrains)
    for name in ("site-eco.csv", "terrain-eco.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert not empty_session.scalar(select(func.count()).where(Site.is_demo))


def test_importing_its_own_export_changes_nothing(session, demo_export):
    report = import_cnig(
        session,
        sites=demo_export / "site-eco.csv",
        terrains=demo_export / "terrain-eco.csv",
    )
    assert report.sites.created == report.sites.updated == 0
    assert report.terrains.created == report.terrains.updated == 0
    assert report.sites.unchanged == session.scalar(select(func.count()).select_from(Site))


def test_a_default_export_refreshes_without_erasing_the_confidential_columns(session, tmp_path):
    """A default export leaves the sale columns empty; importing it back must keep them."""
    export_cnig(session, tmp_path)
    sold = session.scalars(select(Terrain).where(Terrain.terr_acquereur.is_not(None))).all()
    before = {
        t.terr_id: (t.terr_acquereur, t.terr_cession_date, t.terr_vente_montant) for t in sold
    }
    assert before
    report = import_cnig(session, terrains=tmp_path / "terrain-eco.csv")
    assert report.terrains.updated == 0
    session.expire_all()
    after = {
        t.terr_id: (t.terr_acquereur, t.terr_cession_date, t.terr_vente_montant)
        for t in session.scalars(select(Terrain).where(Terrain.terr_id.in_(before)))
    }
    assert after == before
