"""Reading the inventory: parks with their computed figures, plot details, constraint zones.

Plain functions over a session, for every edge (web pages, API, CLI). Owners and the
confidential sale fields of plots are personal or commercial data (RGPD): plots are loaded
without them, and ``get_terrain_detail`` adds them only for an actor who may see them
(Actor.can_see_private: the plot's EPCI and the network-wide roles).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from foncier.core.errors import NotFoundError
from foncier.core.french import FRENCH_COLLATION
from foncier.core.paging import Paging, check_page
from foncier.core.permissions import Actor
from foncier.models import Commune, ConstraintZone, Epci, Owner, Site, Terrain
from foncier.models.codelists import CONFIDENTIAL_TERRAIN_FIELDS, STADES_DISPONIBLES
from foncier.models.views import site_summary

# Text search ignores case and accents without the unaccent extension: both sides go through
# the same character mapping, then lower().
_ACCENTED = "àâäáãåçéèêëíìîïñóòôöõúùûüýÿÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŸ"
_PLAIN = "aaaaaaceeeeiiiinooooouuuuyyAAAAAACEEEEIIIINOOOOOUUUUYY"
_FOLD_TABLE = str.maketrans(_ACCENTED, _PLAIN)


class SiteSort(StrEnum):
    NAME = "nom"
    AVAILABLE_SURFACE = "surface"
    VACANCY_RATE = "vacance"
    EPCI = "epci"


@dataclass(frozen=True)
class SiteCriteria:
    """What a user searches parks by; None means "any"."""

    text: str | None = None
    epci_siren: str | None = None
    vocation: str | None = None
    min_available_ha: Decimal | None = None
    sort: SiteSort = SiteSort.NAME


@dataclass(frozen=True)
class SiteSummary:
    """The figures the site_summary view computes from a park's plots."""

    uf_nbre: int
    uf_vacant_nbre: int
    uf_vacant_a_dater: int
    taux_vacance: int | None
    uf_bati_nbre: int
    surf_utile_calculee: Decimal
    surf_disponible: Decimal
    terrains_disponibles: int


SUMMARY_COLUMNS: Final = tuple(site_summary.c[field.name] for field in fields(SiteSummary))


@dataclass(frozen=True)
class SiteListItem:
    site_id: str
    site_nom: str
    site_vocadomi: str
    epci_nom: str
    commune_nom: str
    summary: SiteSummary


@dataclass(frozen=True)
class SitePage(Paging):
    items: list[SiteListItem]


@dataclass(frozen=True)
class SiteDetail:
    site: Site
    summary: SiteSummary
    terrains: list[Terrain]


@dataclass(frozen=True)
class PrivateFields:
    """What only the plot's EPCI and the network-wide roles read: its owners and its sale."""

    owners: list[Owner]
    acquereur: str | None
    cession_date: date | None
    vente_montant: Decimal | None


@dataclass(frozen=True)
class TerrainDetail:
    terrain: Terrain
    zones: list[ConstraintZone]
    # None when the reader may not see them.
    private: PrivateFields | None = None


def fold(text: str) -> str:
    """``text`` without case nor accents, as the database side of the search compares it."""
    return text.translate(_FOLD_TABLE).lower()


def _folded(column: ColumnElement[str]) -> ColumnElement[str]:
    return func.lower(func.translate(column, _ACCENTED, _PLAIN))


def _like_pattern(text: str) -> str:
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _summary_of(row: Any) -> SiteSummary:
    return SiteSummary(**{field.name: row[field.name] for field in fields(SiteSummary)})


def _without_confidential_fields() -> list[Any]:
    """Loader options leaving the sale fields of plots out: reading one raises, never queries."""
    return [
        defer(getattr(Terrain, name), raiseload=True)
        for name in sorted(CONFIDENTIAL_TERRAIN_FIELDS)
    ]


def select_sites(*columns: Any) -> Select[Any]:
    """``columns`` of every park, drawn from the park, its EPCI, its commune and its figures."""
    return (
        select(*columns)
        .select_from(Site)
        .join(Epci, Epci.siren == Site.site_epci_siren)
        .join(Commune, Commune.insee == Site.site_comm_insee)
        .join(site_summary, site_summary.c.site_id == Site.site_id)
    )


def _site_rows() -> Select[Any]:
    return select_sites(
        Site.site_id,
        Site.site_nom,
        Site.site_vocadomi,
        Epci.nom.label("epci_nom"),
        Commune.nom.label("commune_nom"),
        *SUMMARY_COLUMNS,
    )


def _conditions(criteria: SiteCriteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if criteria.text:
        pattern = _like_pattern(criteria.text)
        names = (Site.site_nom, Commune.nom, Epci.nom)
        conditions.append(or_(*(_folded(name).like(pattern, escape="\\") for name in names)))
    if criteria.epci_siren:
        conditions.append(Site.site_epci_siren == criteria.epci_siren)
    if criteria.vocation:
        conditions.append(Site.site_vocadomi == criteria.vocation)
    if criteria.min_available_ha is not None:
        conditions.append(site_summary.c.surf_disponible >= criteria.min_available_ha)
    return conditions


def _ordering(sort: SiteSort) -> tuple[Any, ...]:
    by_name = Site.site_nom.collate(FRENCH_COLLATION)
    first = {
        SiteSort.NAME: (),
        SiteSort.AVAILABLE_SURFACE: (site_summary.c.surf_disponible.desc(),),
        SiteSort.VACANCY_RATE: (site_summary.c.taux_vacance.desc().nulls_last(),),
        SiteSort.EPCI: (Epci.nom.collate(FRENCH_COLLATION),),
    }[sort]
    # The id last: pages stay stable when names or figures tie.
    return (*first, by_name, Site.site_id)


def search_sites(
    session: Session, criteria: SiteCriteria, *, page: int = 1, per_page: int = 20
) -> SitePage:
    """One page of the parks matching ``criteria``; a page past the last one is not found."""
    matching = _site_rows().where(*_conditions(criteria))
    total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    check_page(page, total, per_page, of="the park list")
    rows = session.execute(
        matching.order_by(*_ordering(criteria.sort)).limit(per_page).offset((page - 1) * per_page)
    ).mappings()
    items = [
        SiteListItem(
            site_id=row["site_id"],
            site_nom=row["site_nom"],
            site_vocadomi=row["site_vocadomi"],
            epci_nom=row["epci_nom"],
            commune_nom=row["commune_nom"],
            summary=_summary_of(row),
        )
        for row in rows
    ]
    return SitePage(items=items, total=total, page=page, per_page=per_page)


def get_site_detail(session: Session, site_id: str) -> SiteDetail:
    site = session.scalars(
        select(Site)
        .where(Site.site_id == site_id)
        .options(
            joinedload(Site.epci),
            joinedload(Site.commune),
            selectinload(Site.terrains).options(*_without_confidential_fields()),
        )
    ).one_or_none()
    if site is None:
        raise NotFoundError(f"no site {site_id!r}")
    row = session.execute(
        select(*SUMMARY_COLUMNS).where(site_summary.c.site_id == site_id)
    ).mappings()
    return SiteDetail(site=site, summary=_summary_of(row.one()), terrains=list(site.terrains))


def get_terrain_detail(session: Session, terr_id: str, actor: Actor | None = None) -> TerrainDetail:
    """A plot, the zones it lies in, and its owners and sale if ``actor`` may see them."""
    terrain = session.scalars(
        select(Terrain)
        .where(Terrain.terr_id == terr_id)
        .options(joinedload(Terrain.site).joinedload(Site.epci), *_without_confidential_fields())
    ).one_or_none()
    if terrain is None:
        raise NotFoundError(f"no plot {terr_id!r}")
    zones = session.scalars(
        select(ConstraintZone)
        .join(Terrain, zone_intersects_terrain())
        .where(Terrain.terr_id == terr_id)
        .options(defer(ConstraintZone.geom))
        .order_by(ConstraintZone.zone_type, ConstraintZone.nom, ConstraintZone.id)
    )
    private = None
    if actor is not None and actor.can_see_private(terrain.site.site_epci_siren):
        private = get_private_fields(session, terr_id)
    return TerrainDetail(terrain=terrain, zones=list(zones), private=private)


def get_private_fields(session: Session, terr_id: str) -> PrivateFields:
    """A plot's owners and sale: callers check the reader's right first."""
    sale = session.execute(
        select(Terrain.terr_acquereur, Terrain.terr_cession_date, Terrain.terr_vente_montant).where(
            Terrain.terr_id == terr_id
        )
    ).one()
    owners = session.scalars(select(Owner).where(Owner.terr_id == terr_id).order_by(Owner.id))
    return PrivateFields(list(owners), *sale)


def zone_intersects_terrain() -> ColumnElement[bool]:
    """The plot lies, even partly, in the zone (both in Lambert-93: the GiST indexes apply)."""
    return func.ST_Intersects(ConstraintZone.geom, Terrain.terr_geomsurf)


def available_from(terrain: Terrain, today: date) -> date | None:
    """When a company could have the plot: None when it is not on offer."""
    if terrain.terr_stade_comm not in STADES_DISPONIBLES:
        return None
    if terrain.terr_dispo_date and terrain.terr_dispo_date > today:
        return terrain.terr_dispo_date
    return today


def has_demo_data(session: Session) -> bool:
    """Whether any shown record is illustrative, so that pages say so."""
    return bool(
        session.scalar(
            select(
                or_(
                    exists().where(Site.is_demo),
                    exists().where(Terrain.is_demo),
                    exists().where(ConstraintZone.is_demo),
                )
            )
        )
    )
