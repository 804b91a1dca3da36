"""foncier's code lists are those of the CNIG strict schemas, value for value."""

from __future__ import annotations

import json

import pytest

from foncier.models import codelists

SCHEMA_OF = {
    "site_type": "site-eco",
    "site_vocadomi": "site-eco",
    "site_etat": "site-eco",
    "site_evol_urba": "site-eco",
    "site_moa_type": "site-eco",
    "terr_maitrise_fonc": "terrain-eco",
    "terr_stade_amngt": "terrain-eco",
    "terr_stade_comm": "terrain-eco",
    "terr_etat_occup": "terrain-eco",
    "terr_usage": "terrain-eco",
    "geocodage_qualite": "etablissement",
}


@pytest.mark.parametrize("column", sorted(SCHEMA_OF))
def test_code_list_matches_the_strict_schema(shared_dir, column):
    path = (
        shared_dir / "standards/cnig-sites-economiques/strict" / f"{SCHEMA_OF[column]}.schema.json"
    )
    fields = {field["name"]: field for field in json.loads(path.read_text())["fields"]}
    assert list(codelists.CODE_LISTS[column]) == fields[column]["constraints"]["enum"]
