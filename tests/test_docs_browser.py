"""The built docs in a real browser: headless Chromium, no network.

For each page, in a 1280 px and a 390 px wide window: no console error, no uncaught
exception, no failed load and no request off the machine; nothing makes the page wider
than the window (wide tables scroll inside their own box); code is highlighted. On the
lifecycle page the diagram is drawn with a non-zero size and its SVG holds every edge.

Skips, with the reason, when Chromium or the built docs (``sphinx-build -W -b html docs
docs/_build/html``) are missing; ``RUNSTATE_TEST_REQUIRE_DOCS=1`` (set by ``.ci/run``)
makes those a failure. ``RUNSTATE_DOCS_SCREENSHOTS=DIR`` saves a full-page PNG of each.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from docs_browser import Browser, find_chromium

import runstate as rs

BUILT = Path(__file__).resolve().parent.parent / "docs" / "_build" / "html"
REQUIRE_ENV = "RUNSTATE_TEST_REQUIRE_DOCS"
PAGES = ("index", "lifecycle", "server", "client", "checking", "integrations", "reference")
WIDTHS = (1280, 390)


def _skip_or_fail(why: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{why} (and {REQUIRE_ENV} is set)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        _skip_or_fail("no Chromium on this machine (Debian: apt-get install chromium)")
    if not (BUILT / "lifecycle.html").exists():
        _skip_or_fail(f"the docs are not built: sphinx-build -W -b html docs {BUILT}")
    assert binary is not None
    with Browser(binary) as b:
        yield b


def _open(browser: Browser, page: str, width: int) -> None:
    browser.open((BUILT / f"{page}.html").as_uri(), width=width)
    shots = os.environ.get("RUNSTATE_DOCS_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        browser.screenshot(Path(shots) / f"{page}-{width}.png")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_page_loads_cleanly_and_fits(browser: Browser, page: str, width: int) -> None:
    _open(browser, page, width)
    assert browser.problems() == []
    assert browser.evaluate("document.title")
    page_width = browser.evaluate("document.documentElement.scrollWidth")
    assert page_width <= width, f"{page} is {page_width} px wide in a {width} px window"
    # Every table is inside furo's scrolling wrapper, so a wide one cannot widen the page.
    assert browser.evaluate(
        "[...document.querySelectorAll('article table')]"
        ".every(t => t.closest('.table-wrapper') !== null)"
    )


def test_the_lifecycle_tables_fit_a_desktop_window(browser: Browser) -> None:
    """At 1280 px no generated table needs its scroll bar (on a phone they may scroll)."""
    _open(browser, "lifecycle", 1280)
    overflow = browser.evaluate(
        "[...document.querySelectorAll('.table-wrapper')].map(t => t.scrollWidth - t.clientWidth)"
    )
    assert len(overflow) >= 6 and max(overflow) <= 0, overflow


@pytest.mark.parametrize("width", WIDTHS)
def test_the_diagram_is_drawn(browser: Browser, width: int) -> None:
    _open(browser, "lifecycle", width)
    box = browser.evaluate(
        "(() => { const o = document.querySelector('object.runstate-lifecycle');"
        " if (!o) return null; const r = o.getBoundingClientRect();"
        " return [r.width, r.height, o.data]; })()"
    )
    assert box is not None, "no diagram element on the lifecycle page"
    width_px, height_px, svg_url = box
    assert width_px > 300 and height_px > 200, box
    # The SVG itself, opened as a page: every edge of the table is drawn, with a size.
    browser.open(svg_url, width=width)
    assert browser.problems() == []
    drawn = browser.evaluate(
        "[...document.querySelectorAll('g.edge')].map(g => {"
        " const b = g.getBBox(); return [g.querySelector('title').textContent,"
        " b.width > 0 && b.height > 0]; })"
    )
    assert sorted(t for t, _ in drawn) == sorted(
        [f"{e.source.value}->{e.target.value}" for e in rs.EDGES] + ["initial->queued"]
    )
    assert all(sized for _, sized in drawn)


@pytest.mark.parametrize("page", ["server", "client"])
def test_code_is_highlighted(browser: Browser, page: str) -> None:
    _open(browser, page, 1280)
    colours = browser.evaluate(
        "(() => { const k = document.querySelector('div.highlight-python .k, "
        "div.highlight-pycon .k, div.highlight-python .kn');"
        " const pre = document.querySelector('div.highlight pre');"
        " if (!k || !pre) return null;"
        " return [getComputedStyle(k).color, getComputedStyle(pre).color]; })()"
    )
    assert colours is not None, f"no highlighted Python keyword on {page}"
    keyword, text = colours
    assert keyword != text
