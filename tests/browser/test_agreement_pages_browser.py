"""The agreement pages in a real Chromium: the calculator shows the fixed shares only in their
mode."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page as BrowserPage
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_fixed_shares_show_only_in_their_mode(
    live_server: str, browser_page: BrowserPage, console_errors: list[str]
) -> None:
    page = browser_page
    page.goto(f"{live_server}/conventions/calculateur")
    shares = page.locator("#epci-calculateur th.part-fixe")
    expect(shares).to_be_hidden()
    page.get_by_label("Selon des parts fixes (en %)").check()
    expect(shares).to_be_visible()
    page.get_by_label("À parts égales").check()
    expect(shares).to_be_hidden()
    assert console_errors == []
