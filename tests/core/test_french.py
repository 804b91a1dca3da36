"""EPCI names in French sentences and in lists (foncier.core.french)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from foncier.core import french
from foncier.models import Epci

GATINE = "Communauté de communes de Gâtine-Racan"
TOURS = "Tours Métropole Val de Loire"


@pytest.mark.parametrize(
    ("phrase", "nom", "expected"),
    [
        (french.to_epci, GATINE, "à la Communauté de communes de Gâtine-Racan"),
        (french.to_epci, TOURS, "à Tours Métropole Val de Loire"),
        (french.by_epci, GATINE, "par la Communauté de communes de Gâtine-Racan"),
        (french.of_epci, TOURS, "de Tours Métropole Val de Loire"),
        (french.epci_named, "Métropole du Grand Nancy", "la Métropole du Grand Nancy"),
    ],
)
def test_an_epci_takes_its_article_when_its_name_starts_with_a_noun(phrase, nom, expected):
    assert phrase(nom) == expected


def test_between_joins_two_or_more_epcis():
    assert french.between([TOURS, GATINE]) == (
        "entre Tours Métropole Val de Loire et la Communauté de communes de Gâtine-Racan"
    )
    assert french.between(["A", "B", "C"]) == "entre A, B et C"
    assert french.between([TOURS]) == TOURS


def test_the_epcis_of_touraine_sort_as_people_look_for_them(session):
    names = session.scalars(select(Epci.nom).where(Epci.siren.like("2%"))).all()
    ordered = sorted(names, key=french.epci_sort_key)
    assert ordered[:3] == [
        "Communauté de communes Autour de Chenonceaux Bléré-Val de Cher",
        "Communauté de communes du Castelrenaudais",
        "Communauté de communes Chinon, Vienne et Loire",
    ]
    assert ordered.index(GATINE) < ordered.index("Communauté de communes Loches Sud Touraine")
    assert ordered[-1] == "Communauté de communes du Val d'Amboise"
