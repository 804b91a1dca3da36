"""The outline of a plot built from its cadastral references, for the drawing map."""

from __future__ import annotations

from flask import Response, jsonify, request

from foncier.inventory.cadastre import geometry_from_refcad, parse_refcad
from foncier.inventory.geometry_input import GeometryInputError, geojson_wgs84
from foncier.web.api.views import api, check_parameters
from foncier.web.database import db_session
from foncier.web.formatting import display


@api.get("/cadastre/contour")
def cadastre_geometry() -> Response | tuple[Response, int]:
    """?refs=37167000AB0012|37167000AB0013 -> a GeoJSON Feature (WGS84) of their union.

    A refusal is a 400 with a French ``message`` that the form shows as is, beside the
    ``code`` and ``description`` of every error of the API.
    """
    check_parameters(frozenset({"refs"}))
    refcad = request.args.get("refs", "")
    try:
        outline = geometry_from_refcad(db_session(), refcad)
    except GeometryInputError as error:
        return jsonify(code="Bad Request", description=str(error), message=str(error)), 400
    references = parse_refcad(refcad)
    surface = display(outline.area / 10_000, "ha")
    return jsonify(
        type="Feature",
        geometry=geojson_wgs84(outline),
        properties={
            "refs": references,
            "surface_m2": round(outline.area),
            "message": f"Contour construit à partir de {len(references)} parcelle(s) "
            f"cadastrale(s) : {surface}.",
        },
    )
