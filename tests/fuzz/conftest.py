"""Fixtures of the fuzz suite: the valid files the strategies damage (Polaxis's plots, in
Gâtine-Racan, as CSV, GeoJSON and GeoPackage) and a Gâtine-Racan referent's web client."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import shapely
from flask import Flask
from flask.testing import FlaskClient
from fuzz_strategies import gpkg_blob
from shapely import MultiPolygon
from shapely.geometry import shape
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from web_helpers import TEST_CONFIG, sign_in

from foncier.inventory.cnig import export_cnig
from foncier.web import create_app
from seed.accounts import PARTNER_EMAIL

POLAXIS = "37167_SITE-ECO_00005"
REFERENT = "referent.gatine-racan@demo.foncier.test"
GEOMETRY = "terr_geomsurf"


@dataclass(frozen=True)
class PlotFiles:
    """Polaxis's plots as a CNIG CSV text and its rows."""

    csv_text: str
    rows: list[dict[str, str]]

    def feature_collection(self) -> dict:
        """The rows as a Lambert-93 FeatureCollection whose properties are the CSV's texts."""
        return {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
            "features": [
                {
                    "type": "Feature",
                    "properties": {k: v for k, v in row.items() if k != GEOMETRY},
                    "geometry": json.loads(row[GEOMETRY]),
                }
                for row in self.rows
            ],
        }

    def blobs(self) -> list[bytes]:
        """The outlines as GeoPackage geometry blobs."""
        return [
            gpkg_blob(shapely.to_wkb(MultiPolygon([shape(json.loads(row[GEOMETRY]))])))
            for row in self.rows
        ]


@pytest.fixture(scope="session")
def polaxis_plots(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> PlotFiles:
    outdir: Path = tmp_path_factory.mktemp("fuzz-export")
    with Session(engine) as session:
        export_cnig(session, outdir, site=POLAXIS)
    text = (outdir / "terrain-eco.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    return PlotFiles(text, rows)


@pytest.fixture
def app(session_factory: sessionmaker[Session]) -> Flask:
    """The application on the test's rolled-back transaction."""
    return create_app({**TEST_CONFIG, "TESTING": True, "SESSION_FACTORY": session_factory})


@pytest.fixture
def referent(app: Flask, session: Session) -> FlaskClient:
    """Gâtine-Racan's référent: imports and edits Polaxis."""
    return sign_in(app.test_client(), session, REFERENT)


@pytest.fixture
def client_for_api(app: Flask, session: Session) -> FlaskClient:
    """The demo partner: reads and matches, writes nothing."""
    return sign_in(app.test_client(), session, PARTNER_EMAIL)
