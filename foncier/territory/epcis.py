"""The network's EPCIs as every feature lists and names them: by SIREN, in the order people
look for them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.core.french import epci_sort_key
from foncier.models import Epci


def list_epcis(session: Session) -> list[tuple[str, str]]:
    """(SIREN, name) of every EPCI, in the order people look for them
    (french.epci_sort_key: « Communauté de communes du Castelrenaudais » among the C). Every
    list of EPCIs the pages offer comes from here, so they all read in the same order."""
    rows = [(siren, nom) for siren, nom in session.execute(select(Epci.siren, Epci.nom))]
    return sorted(rows, key=lambda row: (epci_sort_key(row[1]), row[0]))


def epci_names(session: Session) -> dict[str, str]:
    """The name of every EPCI, by SIREN, in list_epcis's order."""
    return dict(list_epcis(session))
