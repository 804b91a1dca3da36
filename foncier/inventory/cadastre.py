"""Cadastral parcels: import of Etalab's cadastre files, and plot outlines built from them.

Etalab publishes the cadastre (https://cadastre.data.gouv.fr) as one GeoJSON file per commune,
``cadastre-<INSEE>-parcelles.json.gz``: a FeatureCollection in WGS84 whose features carry
``id`` (14 characters, as CNIG's terr_refcad), ``commune``, ``prefixe``, ``section``,
``numero`` and ``contenance`` (m²). An import upserts them by id into cadastral_parcel, in
Lambert-93, all or nothing, with an error per feature like the other importers.

``geometry_from_refcad`` turns a plot's references ("37167000AB0012|37167000AB0013") into its
outline: the union of the parcels, refused when they are unknown or not contiguous.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import shapely
from geoalchemy2.shape import from_shape, to_shape
from pyproj import Transformer
from shapely import MultiPolygon, Polygon
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from foncier.core.errors import ImportRejectedError
from foncier.inventory.cnig.geojson import GEOJSON_FILE, feature_list, read_document
from foncier.inventory.cnig.geometry import (
    POLYGONAL,
    as_multipolygon,
    check_degrees,
    check_lambert93,
    check_valid,
    geometry_from_geojson,
    rounded_to_centimetre,
)
from foncier.inventory.cnig.issues import MESSAGES, FileReport, IssueError, IssueLog, SourceFile
from foncier.inventory.geometry_input import GeometryInputError
from foncier.models import SRID, WGS84, CadastralParcel

# CNIG terr_refcad: references of 14 characters (INSEE code of the commune, prefix, section,
# number) separated by "|". Corsican INSEE codes (2A, 2B) do not fit the standard's pattern.
REFERENCE: Final = re.compile(r"\d{8}[0-9A-Z]{2}\d{4}", re.ASCII)
# What the table accepts (its check constraint): Corsica included, for parcels imported as is.
PARCEL_ID: Final = re.compile(r"[0-9]{2}[0-9AB][0-9]{5}[0-9A-Z]{2}[0-9]{4}", re.ASCII)
COMMUNE: Final = re.compile(r"[0-9]{2}[0-9AB][0-9]{2}", re.ASCII)
# Neighbouring parcels are digitised separately: their shared edges may leave gaps or overlaps
# of a few millimetres, which would split their union. Closing by this distance mends them
# without joining parcels that are really apart.
JOIN_TOLERANCE_M: Final = 0.05
UPSERT_BATCH: Final = 1000
GZIP_MAGIC: Final = b"\x1f\x8b"

# Errors of this importer, besides the shared ones of foncier.inventory.cnig.issues (its
# "not_degrees" replaces the shared one, which tells to give --crs).
CADASTRE_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "bad_parcel_id": (
        "Identifiant de parcelle invalide : 14 caractères attendus (par exemple 37167000AB0012).",
        "Invalid parcel id: 14 characters expected (e.g. 37167000AB0012).",
    ),
    "parcel_commune": (
        "La commune « {commune} » ne correspond pas à l’identifiant de la parcelle.",
        "Commune '{commune}' does not match the parcel's id.",
    ),
    "duplicate_parcel": (
        "Parcelle déjà présente dans le fichier (entité {first}).",
        "Parcel already in the file (feature {first}).",
    ),
    "not_degrees": (
        "Coordonnées hors des bornes des degrés : les fichiers du cadastre d’Etalab sont en "
        "WGS84 (longitude, latitude).",
        "Coordinates out of degree bounds: Etalab's cadastre files are in WGS84.",
    ),
    "bad_gzip": (
        "Archive gzip illisible ou tronquée.",
        "Unreadable or truncated gzip archive.",
    ),
    "gzip_too_large": (
        "L’archive gzip décompressée dépasse {megabytes} Mo : découpez le fichier (par "
        "commune, comme les fichiers d’Etalab).",
        "The gzip archive expands beyond {megabytes} MB: split the file (by commune, as "
        "Etalab's files are).",
    ),
    "bad_contenance": (
        "Contenance invalide : un nombre entier de m² positif est attendu.",
        "Invalid contenance: a positive whole number of m² is expected.",
    ),
}


@dataclass(frozen=True)
class Parcel:
    id: str
    commune_insee: str
    contenance_m2: int | None
    geometry: MultiPolygon


@dataclass
class CadastreImportReport(FileReport):
    sources: list[str] | None = None
    created: int = 0
    updated: int = 0

    def summary_lines(self) -> list[str]:
        return [
            f"{', '.join(self.sources or [])}: {self.created} parcel(s) created, "
            f"{self.updated} updated"
        ]


# --- references ----------------------------------------------------------------------------


def parse_refcad(text: str) -> list[str]:
    """The references of a terr_refcad value, in order, without repeats.

    Raises GeometryInputError naming the references that do not follow the standard.
    """
    references = [part.strip().upper() for part in text.split("|") if part.strip()]
    if not references:
        raise GeometryInputError("Aucune référence cadastrale indiquée.")
    wrong = [reference for reference in references if not REFERENCE.fullmatch(reference)]
    if wrong:
        raise GeometryInputError(
            f"Références cadastrales invalides : {', '.join(wrong)}. Chacune compte 14 "
            "caractères (code INSEE de la commune, préfixe, section, numéro, par exemple "
            "37167000AB0012) ; séparez-les par « | »."
        )
    return list(dict.fromkeys(references))


def geometry_from_refcad(session: Session, refcad: str) -> Polygon:
    """A plot's outline in Lambert-93: the union of the parcels its references name.

    Raises GeometryInputError (French) for malformed or unknown references, or parcels that
    do not form one piece.
    """
    references = parse_refcad(refcad)
    rows = session.execute(
        select(CadastralParcel.id, CadastralParcel.geom).where(CadastralParcel.id.in_(references))
    )
    parcels = {row.id: row.geom for row in rows}
    unknown = [reference for reference in references if reference not in parcels]
    if unknown:
        raise GeometryInputError(
            f"Parcelles absentes du cadastre chargé : {', '.join(unknown)}. Vérifiez les "
            "références, ou faites importer le cadastre de la commune (foncier import "
            "cadastre)."
        )
    shapes = {reference: to_shape(parcels[reference]) for reference in references}
    return _one_piece(shapes)


def _one_piece(shapes: dict[str, Any]) -> Polygon:
    closed = shapely.union_all(
        [shape.buffer(JOIN_TOLERANCE_M, join_style="mitre") for shape in shapes.values()]
    ).buffer(-JOIN_TOLERANCE_M, join_style="mitre")
    if isinstance(closed, Polygon):
        # The seams leave vertices in the middle of straight edges: they go, as do the
        # millimetre steps of the closing.
        return rounded_to_centimetre(closed.simplify(JOIN_TOLERANCE_M))
    pieces = [
        [reference for reference, shape in shapes.items() if shape.intersects(part)]
        for part in closed.geoms
    ]
    # Named in the order the references were given.
    order = list(shapes)
    pieces.sort(key=lambda piece: order.index(piece[0]))
    groups = [", ".join(piece) for piece in pieces]
    raise GeometryInputError(
        "Les parcelles ne sont pas contiguës : elles forment "
        f"{len(groups)} morceaux ({' ; '.join(groups)}). Un terrain est d’un seul tenant : "
        "indiquez des parcelles voisines."
    )


# --- import --------------------------------------------------------------------------------


def import_cadastre(
    session: Session, sources: list[Path | SourceFile], *, dry_run: bool = False
) -> CadastreImportReport:
    """Create or update the parcels of Etalab cadastre files (GeoJSON, gzipped or not).

    Flushes, does not commit. Raises ImportRejectedError (nothing written) if any feature of
    any file is wrong.
    """
    files = [SourceFile.of(source) for source in sources]
    log = IssueLog(messages=MESSAGES | CADASTRE_MESSAGES)
    parcels: dict[str, Parcel] = {}
    for file in files:
        _read_parcels(file, log, parcels)
    report = CadastreImportReport(
        dry_run=dry_run, issues=log.issues, sources=[file.basename for file in files]
    )
    if log:
        raise ImportRejectedError(report)
    known = _existing_ids(session, list(parcels))
    report.updated = len(known)
    report.created = len(parcels) - len(known)
    if not dry_run:
        _upsert(session, list(parcels.values()), ", ".join(report.sources or []))
    return report


def _read_parcels(file: SourceFile, log: IssueLog, parcels: dict[str, Parcel]) -> None:
    features = _features(file, log)
    first_feature: dict[str, int] = {}
    for index, feature in enumerate(features):
        try:
            parcel = _parcel(feature)
            if parcel.id in first_feature:
                raise IssueError("duplicate_parcel", first=first_feature[parcel.id])
        except IssueError as error:
            log.add(error, file.name, feature=index)
            continue
        first_feature[parcel.id] = index
        parcels[parcel.id] = parcel


def _features(file: SourceFile, log: IssueLog) -> list[Any]:
    if file.content.startswith(GZIP_MAGIC):
        try:
            file = SourceFile(file.name, gunzip(file.content, GEOJSON_FILE.max_chars))
        except IssueError as error:
            log.add(error, file.name)
            return []
    document = read_document(file, log)
    return feature_list(document, file.name, log) if document is not None else []


def gunzip(content: bytes, limit: int) -> bytes:
    """The archive's content, refused beyond ``limit`` bytes without inflating further: a
    few kilobytes of gzip can expand to gigabytes (a « gzip bomb»)."""
    expanded = bytearray()
    remaining = content
    try:
        while remaining:  # one gzip member after the other, as gzip.decompress reads them
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            expanded += inflater.decompress(remaining, limit + 1 - len(expanded))
            if len(expanded) > limit:
                raise IssueError("gzip_too_large", megabytes=limit // 2**20)
            if not inflater.eof:
                raise IssueError("bad_gzip")
            remaining = inflater.unused_data
    except zlib.error as error:
        raise IssueError("bad_gzip") from error
    return bytes(expanded)


def _parcel(feature: Any) -> Parcel:
    if not isinstance(feature, dict) or feature.get("geometry") is None:
        raise IssueError("missing_geometry")
    properties = feature.get("properties") or {}
    parcel_id = str(properties.get("id") or feature.get("id") or "")
    if not PARCEL_ID.fullmatch(parcel_id):
        raise IssueError("bad_parcel_id")
    commune = str(properties.get("commune") or parcel_id[:5])
    if not COMMUNE.fullmatch(commune) or commune != parcel_id[:5]:
        raise IssueError("parcel_commune", commune=commune)
    return Parcel(
        id=parcel_id,
        commune_insee=commune,
        contenance_m2=_contenance(properties.get("contenance")),
        geometry=_lambert93(feature["geometry"]),
    )


def _contenance(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise IssueError("bad_contenance")
    return value


def _lambert93(geometry_object: Any) -> MultiPolygon:
    geometry = geometry_from_geojson(geometry_object, POLYGONAL)
    check_degrees(geometry, "WGS84")
    check_valid(geometry)
    projected = shapely.transform(geometry, _TO_LAMBERT93.transform, interleaved=False)
    check_lambert93(projected)
    return as_multipolygon(rounded_to_centimetre(projected))


_TO_LAMBERT93: Final = Transformer.from_crs(WGS84, SRID, always_xy=True)


def _existing_ids(session: Session, ids: list[str]) -> set[str]:
    existing: set[str] = set()
    for batch in _batches(ids):
        existing.update(
            session.scalars(select(CadastralParcel.id).where(CadastralParcel.id.in_(batch)))
        )
    return existing


def _upsert(session: Session, parcels: list[Parcel], source: str) -> None:
    # cadastral_parcel is reference data, not audited: a bulk upsert keeps a commune's
    # thousands of parcels fast.
    for batch in _batches(parcels):
        statement = insert(CadastralParcel).values(
            [
                {
                    "id": parcel.id,
                    "commune_insee": parcel.commune_insee,
                    "contenance_m2": parcel.contenance_m2,
                    "source": source,
                    "geom": from_shape(parcel.geometry, srid=SRID),
                }
                for parcel in batch
            ]
        )
        excluded = statement.excluded
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[CadastralParcel.id],
                set_={
                    "commune_insee": excluded.commune_insee,
                    "contenance_m2": excluded.contenance_m2,
                    "source": excluded.source,
                    "geom": excluded.geom,
                    "updated_at": func.now(),
                },
            )
        )
    session.flush()


def _batches(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), UPSERT_BATCH):
        yield items[start : start + UPSERT_BATCH]
