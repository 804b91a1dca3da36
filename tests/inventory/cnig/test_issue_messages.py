"""The French messages of imports are read on the page « Imports et exports »: they speak like
the rest of the interface and give no command-line advice (the English ones, for the command
line, keep it)."""

from __future__ import annotations

import re

import pytest

from foncier.inventory.cnig.issues import MESSAGES

# Errors that only an option of a command can cause: their French message may name it.
OPTION_ERRORS = {"unknown_crs_option", "not_degrees_option"}


@pytest.mark.parametrize("code", MESSAGES)
def test_french_messages_read_like_the_interface(code):
    french = MESSAGES[code][0]
    assert "'" not in french, "the interface writes the typographic apostrophe ’"
    assert not re.search(r"\bsites?\b", french), "the pages call a park « parc »"
    if code not in OPTION_ERRORS:
        assert "--" not in french and "foncier territory" not in french
