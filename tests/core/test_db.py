"""Finding a row or saying it is missing (foncier.core.db.get_or_raise): the one helper every
operation and page uses for it."""

from __future__ import annotations

import pytest

from foncier.core.db import get_or_raise
from foncier.core.errors import NotFoundError
from foncier.models import Epci, Site

POLAXIS = "37167_SITE-ECO_00005"
GATINE_RACAN = "200073237"


def test_a_row_that_exists_is_returned(session):
    site = get_or_raise(session, Site, POLAXIS)
    assert isinstance(site, Site) and site.site_id == POLAXIS
    assert get_or_raise(session, Epci, GATINE_RACAN) is site.epci


def test_a_missing_row_raises_not_found_naming_its_table_and_key(session):
    with pytest.raises(NotFoundError) as missing:
        get_or_raise(session, Site, "37000_SITE-ECO_99999")
    assert str(missing.value) == "no site '37000_SITE-ECO_99999'"


def test_a_missing_row_raises_the_message_given(session):
    """A message for the person, when the CLI prints it (« foncier users … »)."""
    with pytest.raises(NotFoundError) as missing:
        get_or_raise(session, Epci, "000000000", "Aucun EPCI n’a le SIREN 000000000.")
    assert str(missing.value) == "Aucun EPCI n’a le SIREN 000000000."
