"""Test-only pages with the edit forms' geometry field (/essai/terrain, /essai/site), which show
what they read; the geometry field's tests submit them through HTTP (tests/web) and in Chromium
(tests/browser)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask, render_template_string, request
from flask_wtf import FlaskForm
from geoalchemy2.shape import from_shape
from shapely.geometry import Polygon, box
from wtforms import StringField

from foncier.web.database import db_session
from foncier.web.inventory.geometry_field import GeometryField, site_context, terrain_context

FIXTURE = Path(__file__).parent / "fixtures" / "cadastre" / "cadastre-37167-parcelles.json"
POLAXIS = "37167_SITE-ECO_00005"
GATINE_RACAN = "200073237"
REFERENT = "referent.gatine-racan@demo.foncier.test"
# A free strip of Polaxis, north of its plots, in Lambert-93 metres.
PLOT = box(517_900, 6_719_745, 518_000, 6_719_785)
PAGE = """{% extends "base.html" %}
{% from "inventory/_geometry.html" import geometry_input %}
{% block title %}Essai{% endblock %}
{% block content %}
<form method="post" enctype="multipart/form-data">
  {{ form.csrf_token }}
  <label for="terr_refcad">Parcelles cadastrales</label>{{ form.terr_refcad() }}
  {{ geometry_input(form.contour, context) }}
  <button type="submit">Enregistrer</button>
</form>
<p id="resultat">{{ result }}</p>
{% endblock %}"""


class PlotForm(FlaskForm):
    terr_refcad = StringField("Parcelles cadastrales")
    contour = GeometryField("Contour du terrain", kind="terrain")


class ParkForm(FlaskForm):
    terr_refcad = StringField("Parcelles cadastrales")
    contour = GeometryField("Périmètre du parc", kind="site")


def add_test_pages(app: Flask, stored: Polygon | None = None) -> None:
    """/essai/terrain and /essai/site: forms with the field, which show what they read."""

    def page(form_class: type[FlaskForm], context: Callable[[], dict]) -> str:
        form = form_class(data={"contour": from_shape(stored, srid=2154)} if stored else None)
        result = ""
        if request.method == "POST":
            data = form.contour.data
            if not form.validate():
                result = "invalide"
            else:
                result = f"{data.geom_type} {data.area:.0f}" if data is not None else "aucune"
        return render_template_string(PAGE, form=form, context=context(), result=result)

    app.add_url_rule(
        "/essai/terrain",
        "essai_terrain",
        lambda: page(PlotForm, lambda: terrain_context(POLAXIS)),
        methods=["GET", "POST"],
    )
    app.add_url_rule(
        "/essai/site",
        "essai_site",
        lambda: page(ParkForm, lambda: site_context(db_session(), GATINE_RACAN)),
        methods=["GET", "POST"],
    )
