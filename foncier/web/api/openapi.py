"""The OpenAPI 3.1 description of /api, served at GET /api/openapi.json (docs/api.md).

What can drift is not copied: the bounds of the parameters are the views' own constants, the
properties of each layer's features are read from the columns its query selects (their SQL
type, whether they may be null, the CNIG code list that constrains them), and the body of
/api/match is the needs' JSON Schema. The paths are written here; tests/web/test_openapi.py
checks that they are the blueprint's routes, and runs schemathesis against the application
to check that every answer is one the document describes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Final

from flask import Response, current_app, jsonify
from sqlalchemy import ColumnElement

from foncier.inventory import features
from foncier.inventory.features import FEATURE_ID, Layer
from foncier.matching import engine, scoring
from foncier.matching import schema as needs_schema
from foncier.meetings.balances import NEUTRALITY_THRESHOLD
from foncier.models.codelists import CODE_LISTS, TERR_STADE_COMM, ZONE_TYPES
from foncier.models.prospects import DECLINE_REASONS
from foncier.web.api import match as match_views
from foncier.web.api import views
from foncier.web.api.views import api, check_parameters

OPENAPI_VERSION: Final = "3.1.0"
JSON: Final = "application/json"
SECURITY_SCHEME: Final = "session"
# Columns constrained to a list of values, by their name in every layer.
ENUMS: Final = {**CODE_LISTS, "zone_type": ZONE_TYPES}
# The JSON type of each Python type a column reads as; features._json_value writes decimals
# as numbers and dates as ISO 8601 strings.
JSON_TYPES: Final[dict[type, dict[str, str]]] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    Decimal: {"type": "number"},
    float: {"type": "number"},
    str: {"type": "string"},
    date: {"type": "string", "format": "date"},
    datetime: {"type": "string", "format": "date-time"},
}
# Each layer by its name in the document.
LAYERS: Final = (
    ("Epci", features.EPCIS),
    ("Site", features.SITES),
    ("Terrain", features.TERRAINS),
    ("Zone", features.ZONES),
)
DEMO_SITE: Final = "37250_SITE-ECO_00001"
DEMO_TERRAIN: Final = "37250_TERRAIN-ECO_01003"
LOGISTICS_NEEDS: Final = {
    "surface_min_ha": 5,
    "naf": "52.10B",
    "motorway_max_km": 10,
    "power_min_kva": 1000,
}


@api.get("/openapi.json")
def openapi_document() -> Response:
    """This description of the API, public: it tells how to call, and nothing of the data."""
    check_parameters(frozenset())
    return jsonify(document(current_app.config["SESSION_COOKIE_NAME"]))


@cache
def document(session_cookie: str) -> dict[str, Any]:
    """The OpenAPI document; ``session_cookie`` is the name of the cookie that signs in."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "foncier API",
            "version": "1",
            "description": "The inventory of business land as GeoJSON (CNIG « Sites "
            "Économiques » properties, WGS84), and the matching engine. Every path but this "
            "description answers signed-in members of the network only: sign in at /connexion "
            "and send the session cookie. See docs/api.md.",
        },
        "security": [{SECURITY_SCHEME: []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": session_cookie,
                    "description": "The session cookie that signing in at /connexion sets.",
                }
            },
            "parameters": _parameters(),
            "responses": _error_responses(),
            "schemas": _schemas(),
        },
    }


# --- Paths ---------------------------------------------------------------------------------


def _paths() -> dict[str, Any]:
    collection = _refs("parameters", "bbox", "limit", "offset", "page", "simplify")
    return {
        "/api/openapi.json": _operation(
            "get",
            "openapi",
            "This description (public: no sign-in)",
            responses={
                "200": _json_answer({"type": "object"}, "The OpenAPI document"),
                **_errors("BadRequest"),
            },
            security=[],
        ),
        "/api/epci": _collection_path("Epci", "The outlines of the network's EPCIs", collection),
        "/api/sites": _collection_path("Site", "Business parks (CNIG SITE-ECO)", collection),
        "/api/sites/{site_id}": _item_path("Site", "site_id", DEMO_SITE),
        "/api/terrains": _collection_path(
            "Terrain",
            "Plots (CNIG TERRAIN-ECO without the confidential sale fields)",
            [*collection, *_refs("parameters", "site_id", "stade_comm")],
        ),
        "/api/terrains/{terr_id}": _item_path("Terrain", "terr_id", DEMO_TERRAIN),
        "/api/zones": _collection_path("Zone", "Constraint zones", collection),
        "/api/match": _needs_operation(
            "match",
            "The plots of the whole network ranked for a company's needs",
            _ref("parameters", "match_limit"),
            ("MatchResult", "The ranked plots"),
        ),
        "/api/match/why/{terr_id}": _needs_operation(
            "why_not",
            "Why a plot is not among the results, or its rank",
            _path_id("terr_id", DEMO_TERRAIN),
            ("WhyNot", "The plot's failed constraints"),
            "NotFound",
        ),
        "/api/cadastre/contour": _operation(
            "get",
            "cadastre_outline",
            "The outline of a plot built from its cadastral parcels",
            [_ref("parameters", "refs")],
            {
                "200": _json_answer(_ref("schemas", "CadastreOutline"), "Their union, in WGS84"),
                "400": _json_answer(
                    _ref("schemas", "CadastreRefusal"),
                    "Malformed or unknown references, parcels not in one piece",
                ),
                **_errors("Unauthorized"),
            },
        ),
        "/api/reseau/bilans": _operation(
            "get",
            "network_balances",
            "The balances between territories over a period: counts and sums, no company",
            _refs("parameters", "du", "au"),
            {
                "200": _json_answer(_ref("schemas", "Balances"), "Each EPCI's, and the flows"),
                **_errors("BadRequest", "Unauthorized"),
            },
        ),
    }


def _operation(
    method: str,
    operation_id: str,
    summary: str,
    parameters: list[dict[str, Any]] | None = None,
    responses: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A path item of one operation; ``extra`` adds its requestBody or security."""
    operation = {"summary": summary, "operationId": operation_id, "responses": responses}
    if parameters:
        operation["parameters"] = parameters
    return {method: {**operation, **extra}}


def _needs_operation(
    operation_id: str,
    summary: str,
    parameter: dict[str, Any],
    answer: tuple[str, str],
    *errors: str,
) -> dict[str, Any]:
    """A POST of the needs as JSON; ``answer`` is the schema and description of its 200."""
    return _operation(
        "post",
        operation_id,
        summary,
        [parameter],
        {
            "200": _json_answer(_ref("schemas", answer[0]), answer[1]),
            **_errors("BadRequest", "Unauthorized", *errors, "TooLarge", "UnsupportedMediaType"),
        },
        requestBody=NEEDS_BODY,
    )


def _collection_path(name: str, summary: str, parameters: list[Any]) -> dict[str, Any]:
    return _operation(
        "get",
        f"{name.lower()}_collection",
        summary,
        parameters,
        {
            "200": _geojson_answer(f"{name}Collection", "One page of features, by id"),
            **_errors("BadRequest", "Unauthorized"),
        },
    )


def _item_path(name: str, id_name: str, example: str) -> dict[str, Any]:
    return _operation(
        "get",
        f"{name.lower()}_item",
        f"One {name.lower()}",
        [_path_id(id_name, example)],
        {
            "200": _geojson_answer(f"{name}Item", "The feature"),
            **_errors("BadRequest", "Unauthorized", "NotFound"),
        },
    )


def _path_id(name: str, example: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": STRING, "example": example}


def _json_answer(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _geojson_answer(schema_name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {views.GEOJSON: {"schema": _ref("schemas", schema_name)}},
    }


# --- Parameters and errors -----------------------------------------------------------------


def _parameters() -> dict[str, Any]:
    return {
        "bbox": _query(
            "bbox",
            "minlon,minlat,maxlon,maxlat in WGS84 degrees, -180 <= minlon <= maxlon <= 180 "
            "and -90 <= minlat <= maxlat <= 90: the features that intersect the box.",
            {"type": "string", "pattern": r"^-?\d+(\.\d+)?(,-?\d+(\.\d+)?){3}$"},
            example="0.6,47.3,0.8,47.45",
        ),
        "limit": _query(
            "limit",
            "Features in the page.",
            _bounded(1, views.MAX_LIMIT, default=views.DEFAULT_LIMIT),
        ),
        "offset": _query(
            "offset",
            "Features to skip (0-based). Give offset or page, not both.",
            _bounded(0, views.MAX_OFFSET, default=0),
        ),
        "page": _query(
            "page",
            "1-based page number of limit features. Give offset or page, not both.",
            _bounded(1, views.MAX_PAGE, default=1),
        ),
        "simplify": _query(
            "simplify",
            "Simplify the geometries served by this distance, in metres (0: as stored).",
            _bounded(0, views.MAX_SIMPLIFY_M, default=0),
        ),
        "site_id": _query("site_id", "The plots of one park.", STRING),
        "stade_comm": _query(
            "stade_comm",
            "The plots at these CNIG marketing stages (terr_stade_comm); repeat it for several.",
            _array({"enum": list(TERR_STADE_COMM)}),
            explode=True,
        ),
        "match_limit": _query(
            "limit",
            "How many plots to return.",
            _bounded(1, match_views.MAX_LIMIT, default=engine.DEFAULT_LIMIT),
        ),
        "refs": _query(
            "refs",
            "Cadastral references of 14 characters (INSEE code of the commune, prefix, "
            "section, number), separated by |.",
            STRING,
            required=True,
            example="37167000ZA0001|37167000ZA0002",
        ),
        "du": _query(
            "du",
            "The period's first day (included): a redirection counts when it was proposed "
            "in the period. By default, 1 January of this year.",
            DATE,
            example="2026-01-01",
        ),
        "au": _query(
            "au",
            "The period's last day (included), not before du. By default, today.",
            DATE,
            example="2026-12-31",
        ),
    }


def _query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema, **extra}


def _bounded(minimum: int, maximum: int, *, default: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, "default": default}


ERRORS: Final = {
    "BadRequest": ("400", "A parameter or the body cannot be understood (unknown or repeated "
                   "parameters included)"),
    "Unauthorized": ("401", "Not signed in"),
    "NotFound": ("404", "No feature or plot with this id"),
    "TooLarge": ("413", f"The body is larger than {match_views.MAX_BODY_BYTES} bytes"),
    "UnsupportedMediaType": ("415", "The body is not sent as application/json"),
}  # fmt: skip


def _error_responses() -> dict[str, Any]:
    return {
        name: _json_answer(_ref("schemas", "Error"), description)
        for name, (_, description) in ERRORS.items()
    }


def _errors(*names: str) -> dict[str, Any]:
    return {ERRORS[name][0]: _ref("responses", name) for name in names}


# --- Schemas -------------------------------------------------------------------------------


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": ERROR,
        "Link": LINK,
        "Surface": SURFACE,
        "Needs": _needs_schema(),
        "MatchResult": MATCH_RESULT,
        "MatchedPlot": MATCHED_PLOT,
        "WhyNot": WHY_NOT,
        "Criterion": CRITERION,
        "Failure": FAILURE,
        "CadastreOutline": CADASTRE_OUTLINE,
        "CadastreRefusal": CADASTRE_REFUSAL,
        "Balances": BALANCES,
        "EpciBalance": EPCI_BALANCE,
        "Flow": FLOW,
        "Imbalance": IMBALANCE,
    }
    for name, layer in LAYERS:
        schemas[f"{name}Properties"] = _properties(layer)
        schemas[f"{name}Feature"] = _object(
            {
                "type": {"const": "Feature"},
                "id": _column_schema(layer.id_column),
                "geometry": _ref("schemas", "Surface"),
                "properties": _ref("schemas", f"{name}Properties"),
            }
        )
        schemas[f"{name}Item"] = {
            "allOf": [_ref("schemas", f"{name}Feature")],
            **_object({"links": LINKS}),
        }
        schemas[f"{name}Collection"] = _object(
            {
                "type": {"const": "FeatureCollection"},
                "numberMatched": COUNT,
                "numberReturned": COUNT,
                "links": LINKS,
                "features": _array(_ref("schemas", f"{name}Feature")),
            },
            additionalProperties=False,
        )
    return schemas


def _properties(layer: Layer) -> dict[str, Any]:
    """Every property a feature of ``layer`` carries, and none other."""
    # str(): SQLAlchemy names some columns with a str subclass, which JSON tools refuse.
    columns = {str(column.name): column for column in layer.query.selected_columns}
    del columns[FEATURE_ID]
    return _object(
        {
            name: SPECIAL_PROPERTIES.get(name) or _column_schema(column)
            for name, column in columns.items()
        },
        additionalProperties=False,
    )


def _column_schema(column: ColumnElement[Any]) -> dict[str, Any]:
    """The JSON Schema of a column's values, as features serve them."""
    schema = dict(JSON_TYPES[column.type.python_type])
    # A label (site_epci_nom) carries the nullability of the column it names.
    nullable = getattr(getattr(column, "element", column), "nullable", True)
    values = ENUMS.get(column.name)
    if values is not None:
        return {"enum": [*values, None] if nullable else list(values)}
    if nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def _needs_schema() -> dict[str, Any]:
    # Without $schema and $id: OpenAPI 3.1 reads JSON Schema 2020-12 already, and an $id
    # would move the base of every reference inside the document.
    return {key: value for key, value in needs_schema().items() if not key.startswith("$")}


# --- JSON Schema shorthands ----------------------------------------------------------------


def _ref(section: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{section}/{name}"}


def _refs(section: str, *names: str) -> list[dict[str, str]]:
    return [_ref(section, name) for name in names]


def _object(
    properties: dict[str, Any], *, optional: tuple[str, ...] = (), **extra: Any
) -> dict[str, Any]:
    """An object with these properties, all required but the ``optional`` ones."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "required": required, "properties": properties, **extra}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _geometry(geometry_type: str) -> dict[str, Any]:
    """A GeoJSON geometry of ``geometry_type``: [lon, lat] positions nested in rings."""
    coordinates = {"type": "array", "items": NUMBER, "minItems": 2, "maxItems": 2}
    for _ in range({"Polygon": 2, "MultiPolygon": 3}[geometry_type]):
        coordinates = _array(coordinates)
    return _object({"type": {"const": geometry_type}, "coordinates": coordinates})


STRING: Final = {"type": "string"}
NUMBER: Final = {"type": "number"}
COUNT: Final = {"type": "integer", "minimum": 0}
SHARE: Final = {"type": "number", "minimum": 0, "maximum": 1}
DATE: Final = {"type": "string", "format": "date"}
HECTARES: Final = {"type": "number", "minimum": 0}
FRENCH: Final = {"type": "string", "description": "In French."}
NEEDS_BODY: Final = {
    "required": True,
    "description": "The company's needs (docs/matching.md). Only surface_min_ha is required; "
    f"at most {match_views.MAX_BODY_BYTES} bytes.",
    "content": {JSON: {"schema": _ref("schemas", "Needs"), "example": LOGISTICS_NEEDS}},
}
# Simplified outlines (the EPCIs' always, any layer's with ?simplify=) come out of PostGIS as
# a Polygon when they have one part, although their column holds multipolygons.
SURFACE: Final = {"oneOf": [_geometry("Polygon"), _geometry("MultiPolygon")]}
ERROR: Final = _object(
    {
        "code": {"type": "string", "description": "The HTTP status's name: Bad Request…"},
        "description": {"type": "string", "description": "What is wrong, in English."},
        "errors": {
            **_array(_object({"path": STRING, "message": STRING})),
            "description": "Invalid needs: every problem, at its path in the body.",
        },
    },
    optional=("errors",),
)
LINK: Final = _object(
    {
        "href": {"type": "string", "format": "uri"},
        "rel": {"enum": ["self", "next", "prev", "collection"]},
        "type": {"const": views.GEOJSON},
        "title": STRING,
    }
)
LINKS: Final = _array(_ref("schemas", "Link"))
CRITERION: Final = _object(
    {
        "name": {"enum": list(scoring.CRITERION_NAMES)},
        "label": STRING,
        "raw": {"description": "The plot's value that the criterion reads (any JSON value)."},
        "value": SHARE,
        "weight": SHARE,
        "contribution": SHARE,
        "explanation": FRENCH,
    }
)
CRITERIA: Final = _array(_ref("schemas", "Criterion"))
FAILURE: Final = _object(
    {"constraint": {"enum": list(scoring.HARD_CONSTRAINT_NAMES)}, "explanation": FRENCH}
)
MATCHED_PLOT: Final = _object(
    {
        "rank": {"type": "integer", "minimum": 1},
        "terr_id": STRING,
        "site_id": STRING,
        "site_nom": STRING,
        "epci_siren": STRING,
        "score": SHARE,
        "criteria": CRITERIA,
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
    }
)
MATCH_RESULT: Final = _object(
    {
        "needs": {"type": "object", "description": "The needs, normalised, defaults filled in."},
        "weights": {
            "type": "object",
            "description": "The weights used, normalised to sum 1.",
            "additionalProperties": SHARE,
        },
        "results": _array(_ref("schemas", "MatchedPlot")),
        "excluded": {
            "type": "object",
            "description": "Plots left out, under their first failed hard constraint.",
            "additionalProperties": COUNT,
        },
        "candidates": COUNT,
        "available": COUNT,
        "plots": COUNT,
    }
)
WHY_NOT: Final = _object(
    {
        "terr_id": STRING,
        "eligible": {"type": "boolean"},
        "failed": _array(_ref("schemas", "Failure")),
        # When eligible:
        "rank": {"type": "integer", "minimum": 1},
        "candidates": COUNT,
        "score": SHARE,
        "criteria": CRITERIA,
    },
    optional=("rank", "candidates", "score", "criteria"),
)
# Properties whose column type says nothing of their JSON: a plot's constraint zones (built by
# a subquery), a zone's attributes from its source file (JSONB).
SPECIAL_PROPERTIES: Final = {
    "contraintes": _array(
        _object({"id": {"type": "integer"}, "zone_type": {"enum": list(ZONE_TYPES)}, "nom": STRING})
    ),
    "properties": {"type": "object"},
}
CADASTRE_OUTLINE: Final = _object(
    {
        "type": {"const": "Feature"},
        "geometry": _geometry("Polygon"),
        "properties": _object(
            {
                "refs": _array(STRING),
                "surface_m2": COUNT,
                "message": {"type": "string", "description": "In French, for the form."},
            }
        ),
    }
)
CADASTRE_REFUSAL: Final = {
    "allOf": [_ref("schemas", "Error")],
    "properties": {
        "message": {"type": "string", "description": "Refused references: why, in French."}
    },
}
EPCI_BALANCE: Final = _object(
    {
        "siren": STRING,
        "nom": STRING,
        **dict.fromkeys(
            ("sent", "received", "accepted", "declined", "withdrawn", "waiting", "installed"),
            COUNT,
        ),
        "declined_by_reason": _object(
            dict.fromkeys(DECLINE_REASONS, COUNT), additionalProperties=False
        ),
        "hectares_in": HECTARES,
        "hectares_out": HECTARES,
        "jobs_in": COUNT,
        "jobs_out": COUNT,
        "agreements_in_force": COUNT,
        "hectares_on_sale": HECTARES,
        "land_share": {
            **SHARE,
            "type": ["number", "null"],
            "description": "Its share of the network's hectares on sale (null: none on sale).",
        },
        "exposure_share": {
            **SHARE,
            "type": ["number", "null"],
            "description": "Its share of the exposure in the searches run from the network's "
            "projects in the period, a result at rank r weighing 1/log2(1+r) (null: no search).",
        },
        "success_share": {
            **SHARE,
            "type": ["number", "null"],
            "description": "Its share of the settled redirections received in the period "
            "(null: none settled).",
        },
    },
    additionalProperties=False,
)
IMBALANCE: Final = _object(
    {
        "siren": STRING,
        "nom": STRING,
        "exposure_share": SHARE,
        "land_share": SHARE,
        "over_exposed": {"type": "boolean"},
        "sentence": {"type": "string", "description": "The imbalance in words, in French."},
    },
    additionalProperties=False,
)
FLOW: Final = _object(
    {"from": STRING, "to": STRING, "proposed": COUNT, "accepted": COUNT, "installed": COUNT},
    additionalProperties=False,
)
BALANCES: Final = _object(
    {
        "du": DATE,
        "au": DATE,
        "epcis": _array(_ref("schemas", "EpciBalance")),
        "flows": _array(_ref("schemas", "Flow")),
        "neutrality": {
            **_array(_ref("schemas", "Imbalance")),
            "description": "The EPCIs whose exposure share and land share differ by more "
            f"than {NEUTRALITY_THRESHOLD:.0%} of the network (empty: none).",
        },
    },
    additionalProperties=False,
)
