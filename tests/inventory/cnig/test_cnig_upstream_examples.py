"""The CNIG standard's own example files are refused, with the reasons a referent can act on."""

from __future__ import annotations

from cnig_helpers import STANDARD, located

from foncier.inventory.cnig import import_cnig


def test_site_example_is_refused_with_its_shifted_columns_explained(refused, shared_dir):
    issues = refused(import_cnig, sites=shared_dir / STANDARD / "site-eco/exemple-valide.csv")
    assert located(issues)[:2] == [
        ("exemple-valide.csv", 2, "site_vocadomi", "split_value"),
        ("exemple-valide.csv", 2, "site_etat", "code_list"),
    ]
    assert "entrepôts, logistique" in issues[0].message_fr
    assert "the following columns are shifted" in issues[0].message_en
    codes = {(issue.column, issue.code) for issue in issues}
    assert ("site_moa_type", "code_list_case") in codes  # "EPCI" for "epci"
    assert ("site_geomsurf", "unclosed_ring") in codes
    assert ("site_epci_siren", "unknown_epci") in codes  # a Somme park: territory not loaded
    assert {issue.line for issue in issues} == {2}


def test_terrain_example_is_refused(refused, shared_dir):
    issues = refused(import_cnig, terrains=shared_dir / STANDARD / "terrain-eco/exemple-valide.csv")
    assert located(issues) == [
        ("exemple-valide.csv", 2, "site_id", "unknown_site"),
        ("exemple-valide.csv", 2, "terr_geomsurf", "unclosed_ring"),
    ]
