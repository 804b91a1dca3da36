"""SQLAlchemy models of foncier; importing this package registers every table on Base.metadata."""

from foncier.models.base import SRID, WGS84, Base
from foncier.models.inventory import Etablissement, Owner, Site, Terrain, etablissement_terrain
from foncier.models.territory import Commune, Departement, Epci
from foncier.models.zones import ConstraintZone

__all__ = [
    "SRID",
    "WGS84",
    "Base",
    "Commune",
    "ConstraintZone",
    "Departement",
    "Epci",
    "Etablissement",
    "Owner",
    "Site",
    "Terrain",
    "etablissement_terrain",
]
