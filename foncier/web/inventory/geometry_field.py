"""A form field for a plot's outline or a park's perimeter, drawn on a map or given as text.

The field posts one text (a <textarea>): GeoJSON in WGS84 as the map writes it, or whatever a
person pasted (GeoJSON, WKT, EWKT: foncier.inventory.geometry_input reads them). Its ``data`` is the
Lambert-93 shapely geometry, or None when nothing was given. A text that cannot be read is
kept as typed and shown back with the reason, in French.

A file can be posted too, in ``<name>_fichier`` (the page's form must then be
multipart/form-data): it is read when the text is empty. With JavaScript, the page reads the
chosen file into the text itself, so both ways give the same result.

The macro ``geometry_input(field, context)`` of templates/inventory/_geometry.html renders it;
``terrain_context`` and ``site_context`` build its ``context``.
"""

from __future__ import annotations

from typing import Any, Final

from flask import current_app, url_for
from geoalchemy2 import WKBElement
from geoalchemy2.shape import to_shape
from shapely import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from wtforms import Field
from wtforms.utils import unset_value
from wtforms.widgets import TextArea

from foncier.core.errors import NotFoundError
from foncier.inventory import features
from foncier.inventory.cnig.geometry import GEOMETRY_TEXT_CHARS
from foncier.inventory.geometry_input import (
    GeometryInputError,
    GeometryKind,
    as_kind,
    geojson_wgs84_text,
    parse_geometry_text,
)
from foncier.web.api.views import MAX_LIMIT

FILE_SUFFIX: Final = "_fichier"
# A plot's or a park's outline weighs kilobytes; a file a thousand times larger is a mistake.
# The bound of a geometry's text, so that a file is refused before it is decoded and read.
MAX_FILE_BYTES: Final = GEOMETRY_TEXT_CHARS


class GeometryField(Field):
    """A Polygon (``kind="terrain"``) or MultiPolygon (``kind="site"``) in Lambert-93."""

    widget = TextArea()

    def __init__(
        self, label: str | None = None, validators: Any = None, kind: GeometryKind = "terrain",
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(label, validators, **kwargs)
        self.kind: GeometryKind = kind
        self.data: Polygon | MultiPolygon | None = None

    @property
    def file_name(self) -> str:
        """The name of the file input that may carry the geometry instead of the text."""
        return self.name + FILE_SUFFIX

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        upload_error = None
        if formdata is not None and not _text_given(formdata.getlist(self.name)):
            try:
                uploaded = _uploaded_text(formdata.get(self.file_name))
            except GeometryInputError as error:
                uploaded, upload_error = None, str(error)
            if uploaded is not None:
                formdata = MultiDict({self.name: uploaded})
        super().process(formdata, data, extra_filters)
        if upload_error:
            self.process_errors.append(upload_error)

    def process_data(self, value: Any) -> None:
        """Object data: a stored WKBElement, a shapely geometry or None."""
        if isinstance(value, WKBElement):
            value = to_shape(value)
        self.data = as_kind(value, self.kind) if isinstance(value, BaseGeometry) else None

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        if not _text_given(valuelist):
            return
        try:
            self.data = parse_geometry_text(valuelist[0], self.kind)
        except GeometryInputError as error:
            # WTForms keeps raw_data, so the text is shown back as typed, beside this message.
            raise ValueError(str(error)) from None

    def _value(self) -> str:
        if self.raw_data and _text_given(self.raw_data):
            return self.raw_data[0]
        return geojson_wgs84_text(self.data) if self.data is not None else ""

    def drawing_config(self, context: dict[str, Any]) -> dict[str, Any]:
        """What templates/inventory/_geometry.html hands to static/js/draw.js."""
        return {
            "kind": self.kind,
            "textarea": self.id,
            "fileInput": self.file_name,
            "basemap": {
                "url": current_app.config["BASEMAP_URL"],
                "attribution": current_app.config["BASEMAP_ATTRIBUTION"],
            },
            "assets": {
                "leaflet": url_for("static", filename="vendor/leaflet/leaflet.js"),
                "geoman": url_for("static", filename="vendor/leaflet-geoman/leaflet-geoman.min.js"),
            },
            "layers": context.get("layers", []),
            "cadastre": context.get("cadastre") if self.kind == "terrain" else None,
        }


def _text_given(valuelist: list[Any]) -> bool:
    return bool(valuelist) and isinstance(valuelist[0], str) and bool(valuelist[0].strip())


def _uploaded_text(upload: Any) -> str | None:
    """The text of a posted file, None when no file was chosen."""
    if not isinstance(upload, FileStorage) or not upload.filename:
        return None
    content = upload.stream.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise GeometryInputError("Fichier trop volumineux pour un contour (5 Mo au plus).")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GeometryInputError(
            "Le fichier n’est pas un texte UTF-8 : un fichier GeoJSON (.geojson, .json) est "
            "attendu."
        ) from None


# --- what the map of the field shows -------------------------------------------------------


def terrain_context(site_id: str, terr_id: str | None = None) -> dict[str, Any]:
    """The map context of a plot's outline: its park's perimeter and the park's other plots,
    and the cadastre lookup fed by the form's ``terr_refcad`` input."""
    return {
        "layers": [
            {"kind": "site", "url": url_for("api.site_item", site_id=site_id)},
            {
                "kind": "terrain",
                "url": url_for("api.terrain_collection", site_id=site_id, limit=MAX_LIMIT),
                # The plot being edited is the drawn one, not a neighbour.
                "exclude": terr_id,
            },
        ],
        "cadastre": {"url": url_for("api.cadastre_geometry"), "refsInput": "terr_refcad"},
    }


def site_context(session: Session, epci_siren: str | None) -> dict[str, Any]:
    """The map context of a park's perimeter: the outline of its EPCI, when known."""
    if not epci_siren:
        return {"layers": []}
    try:
        outline = features.get_feature(session, features.EPCIS, epci_siren)
    except NotFoundError:
        return {"layers": []}
    return {"layers": [{"kind": "epci", "geojson": outline}]}
