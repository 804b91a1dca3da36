"""The two CNIG classes foncier exchanges, as tables: their label, model, key and columns."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final

from foncier.inventory.cnig.columns import SITE_COLUMNS, TERRAIN_COLUMNS, TERRAIN_EXTENSIONS, Column
from foncier.models import Site, Terrain


@dataclass(frozen=True)
class Table:
    label: str
    model: type[Site] | type[Terrain]
    key: str
    columns: tuple[Column, ...]

    @cached_property
    def columns_by_name(self) -> dict[str, Column]:
        return {column.name: column for column in self.columns}

    @property
    def geometry_column(self) -> str:
        return "site_geomsurf" if self.model is Site else "terr_geomsurf"


SITES: Final = Table("SITE-ECO", Site, "site_id", SITE_COLUMNS)
TERRAINS: Final = Table("TERRAIN-ECO", Terrain, "terr_id", TERRAIN_COLUMNS + TERRAIN_EXTENSIONS)


def table_of_columns(names: set[str]) -> Table | None:
    """The class a file holds, told by its columns: only plots have terr_id, and a parks file
    without site_nom would be refused anyway (it is required)."""
    if "terr_id" in names:
        return TERRAINS
    if "site_nom" in names or "site_epci_siren" in names:
        return SITES
    return None
