"""The rule that refuses text a spreadsheet would run as a formula, and `foncier check formulas`
that lists the stored texts it refuses."""

from __future__ import annotations

import unicodedata

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from foncier.cli import main
from foncier.core.config import normalise_database_url
from foncier.core.formulas import (
    FORMULA_MESSAGE,
    FormulaCell,
    formula_cells,
    formula_problems,
    looks_like_formula,
)

# The probe's three examples, then OWASP's CSV injection payloads and their variants.
REFUSED = [
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "=cmd|' /C notepad'!'A1'",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "-2+3+cmd |' /C calc'!A0",
    "=1+1",
    "=",
    "@",
    '-HYPERLINK("http://evil.example")',
    '- HYPERLINK ("http://evil.example")',
    '+_xlfn.WEBSERVICE("http://evil.example")',
    "-1+SOMME(1;2)",
    "-1 + ANNÉE(1)",
    "+A1",
    "-$B$2",
    "-A1:B2",
    "-(A1)",
    "-Feuil1!A1",
    "-'[budget.xlsx]Feuil1'!A1",
    "- Saint-Pierre-des-Corps (gare)",  # the rule's price: write the bullet « – »
    "-=1",
    "--1",
    "+-1",
    "-@x",
    "\tbonjour",
    "\rbonjour",
    "   =1+1",
    "\u00a0@SUM(1)",
    "＝1+1",  # full-width signs count as theirs
    "－HYPERLINK(1)",
]
# Real French data: phone numbers, negative numbers, dashes used as bullets or in names.
ACCEPTED = [
    "Parc d’activités de Polaxis",
    "",
    "   ",
    "-12,5",
    "-0,5",
    "-5 %",
    "+33 2 47 12 34 56",
    "+33 (0)2 47 12 34 56",
    "+33-2-47-12-34-56",
    "- lot 3",
    "- zone Nord (extension)",
    "-12,5 ha (environ)",
    "- Accès A10 sortie 21",
    "- Saint-Avertin",
    "+ de 10 ha",
    "+/- 2 ha",
    "-Zone-",
    "-",
    "+",
    "– tiret demi-cadratin",
    "• puce",
    "Nouveau !",
    "Zone =A1",
    "Contact : @foncier37",
]


@pytest.mark.parametrize("value", REFUSED)
def test_text_that_starts_like_a_formula_is_refused(value):
    assert looks_like_formula(value)


@pytest.mark.parametrize("value", ACCEPTED)
def test_french_text_that_merely_starts_with_a_sign_is_accepted(value):
    assert not looks_like_formula(value)


def _starts_a_formula(character: str) -> bool:
    return character.isspace() or unicodedata.normalize("NFKC", character)[:1] in "=+-@"


@given(
    st.text(alphabet=" ", max_size=3),
    st.characters().filter(lambda character: not _starts_a_formula(character)),
    st.text(),
)
def test_any_text_not_starting_with_a_trigger_is_accepted(spaces, first, rest):
    assert not looks_like_formula(spaces + first + rest)


@given(st.sampled_from("=@\t\r"), st.text())
def test_any_text_starting_with_equals_at_tab_or_return_is_refused(first, rest):
    assert looks_like_formula(first + rest)


def test_a_validator_gets_the_french_message_for_each_text_refused():
    values = {"site_nom": "=1+1", "site_description": "- lot 3", "site_surf_brute": 12}
    assert formula_problems(values) == {"site_nom": FORMULA_MESSAGE}
    assert "premier caractère" in FORMULA_MESSAGE


def test_a_long_stored_text_is_shown_shortened():
    cell = FormulaCell("site", "37167_SITE-ECO_00005", "site_nom", "=" + "x" * 100)
    assert cell.preview == repr("=" + "x" * 59 + "…")


@pytest.fixture(scope="module")
def demo_url(database_builder) -> str:
    """A copy of the demo database of its own: rows are written there around the checks."""
    return database_builder("foncier_formulas")


def _write(url: str, statement: str) -> None:
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def test_the_check_passes_on_the_demo_then_lists_a_row_written_around_the_checks(demo_url):
    runner = CliRunner()
    env = {"DATABASE_URL": demo_url}
    clean = runner.invoke(main, ["check", "formulas"], env=env)
    assert clean.exit_code == 0, clean.output
    assert clean.output == "No stored text starts like a formula.\n"

    # Written in SQL, as a row stored before the rule: no validator, no audit.
    _write(
        demo_url,
        'UPDATE site SET site_nom = \'=HYPERLINK("http://evil.example","x")\', '
        "site_description = '- lot 3' WHERE site_id = '37167_SITE-ECO_00005'",
    )
    _write(demo_url, "UPDATE app_user SET nom = '  @SUM(1+1)' WHERE email LIKE 'coordination@%'")
    found = runner.invoke(main, ["check", "formulas"], env=env)
    assert found.exit_code == 1
    lines = found.output.splitlines()
    assert lines[0].startswith("app_user ") and lines[0].endswith(" nom: '  @SUM(1+1)'")
    assert lines[1] == (
        'site 37167_SITE-ECO_00005 site_nom: \'=HYPERLINK("http://evil.example","x")\''
    )
    assert lines[2].startswith("Error: 2 stored text(s) start like a formula")
    assert len(lines) == 3  # the legitimate « - lot 3 » is not listed


def test_the_core_lists_the_same_rows_by_table_key_and_column(session):
    owner_id = session.scalar(text("SELECT min(id) FROM owner"))
    session.execute(
        text("UPDATE owner SET adresse = :payload WHERE id = :id"),
        {"payload": "+cmd|' /C calc'!A0", "id": owner_id},
    )
    assert formula_cells(session) == [
        FormulaCell("owner", str(owner_id), "adresse", "+cmd|' /C calc'!A0")
    ]
