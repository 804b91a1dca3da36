"""foncier's transcription of the CNIG columns matches the official schemas and the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cnig_helpers import STANDARD

from foncier.inventory.cnig import values
from foncier.inventory.cnig.columns import SITE_COLUMNS, TERRAIN_COLUMNS, TERRAIN_EXTENSIONS, Kind
from foncier.inventory.cnig.issues import MESSAGES
from foncier.models import Site, Terrain

CLASSES = {"site-eco": SITE_COLUMNS, "terrain-eco": TERRAIN_COLUMNS}
# How each schema type is read: a kind per (type, format or oui/non enum).
KINDS_OF_TYPE = {
    "number": {Kind.NUMBER, Kind.INTEGER},
    "date": {Kind.DATE, Kind.YEAR},
    "geojson": {Kind.GEOMETRY},
    "geopoint": {Kind.GEOPOINT},
    "string": {Kind.TEXT, Kind.ID, Kind.CODE, Kind.URL, Kind.REFCAD},
}
BOOKKEEPING = {"is_demo", "version", "created_at", "updated_at"}
DOCS = Path(__file__).resolve().parents[3] / "docs" / "data-formats.md"


def strict_fields(shared_dir, cnig_class):
    path = shared_dir / STANDARD / "strict" / f"{cnig_class}.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))["fields"]


@pytest.mark.parametrize("cnig_class", CLASSES)
def test_names_order_and_required_flags_are_the_official_ones(shared_dir, cnig_class):
    path = shared_dir / STANDARD / cnig_class / "schema.json"
    fields = json.loads(path.read_text(encoding="utf-8"))["fields"]
    official = [(field["name"], field["constraints"]["required"]) for field in fields]
    assert [(column.name, column.required) for column in CLASSES[cnig_class]] == official


@pytest.mark.parametrize("cnig_class", CLASSES)
def test_each_column_is_read_as_its_schema_type_says(shared_dir, cnig_class):
    for field, column in zip(
        strict_fields(shared_dir, cnig_class), CLASSES[cnig_class], strict=True
    ):
        constraints = field["constraints"]
        if constraints.get("enum") == ["oui", "non"]:
            assert column.kind == Kind.BOOLEAN, column.name
        elif "enum" in constraints:
            assert column.kind == Kind.CODE, column.name
        elif "pattern" in constraints:
            pattern = values.URL if column.kind == Kind.URL else values.REFCAD
            assert pattern.pattern == "^" + constraints["pattern"].strip("^$") + "$", column.name
        else:
            assert column.kind in KINDS_OF_TYPE[field["type"]], column.name


@pytest.mark.parametrize(
    ("model", "columns"),
    [(Site, SITE_COLUMNS), (Terrain, TERRAIN_COLUMNS + TERRAIN_EXTENSIONS)],
)
def test_stored_columns_are_exactly_the_model_columns(model, columns):
    """Every attribute of a site or plot travels in the files (with extensions)."""
    stored = {column.name for column in columns if column.stored}
    assert stored == set(model.__table__.c.keys()) - BOOKKEEPING


def test_docs_list_every_error_code_and_extension_column():
    docs = DOCS.read_text(encoding="utf-8")
    assert [code for code in MESSAGES if f"`{code}`" not in docs] == []
    assert [c.name for c in TERRAIN_EXTENSIONS if f"`{c.name}`" not in docs] == []
    for french, english in MESSAGES.values():
        assert french.split("{")[0][:25] in docs
        assert english.split("{")[0][:25] in docs
