"""The family map: static HTML of compression and its four families, readable on phones and in dark mode."""

from __future__ import annotations

import html5lib
import pytest

from browser import chromium_context
from bokeh_widgets import horizontal_overflow, open_essay, phone_page, screenshot_figure
from essaygen.figures._style import TECHNIQUE_COLOURS
from essaygen.figures.family_map import FAMILIES, family_map

NAME = "family-map"


@pytest.fixture(scope="module")
def parts():
    return family_map(None)


def families_in(html: str) -> list:
    tree = html5lib.parse(html, namespaceHTMLElements=False)
    return [element for element in tree.iter("li") if "fm-family" in element.get("class", "")]


def test_family_map_is_static_html(parts):
    assert parts.root is None
    assert parts.readouts == ""
    assert "<script" not in parts.html


def test_four_families_under_compression(parts):
    cards = families_in(parts.html)
    assert [card.get("data-technique") for card in cards] == ["quantisation", "pruning", "distillation", "low-rank"]
    assert "Compression" in parts.html


def test_each_family_has_name_and_description(parts):
    for card, family in zip(families_in(parts.html), FAMILIES):
        text = "".join(card.itertext())
        assert family.name in text
        assert family.description in text
        assert len(family.description) < 90, f"{family.name}: description is longer than one line"


def test_distillation_makes_the_whole_model_smaller(parts):
    assert "makes smaller: <strong>the whole model (a smaller student, trained anew)</strong>" in parts.html


def test_families_use_technique_colours(parts):
    for card in families_in(parts.html):
        assert card.get("style") == f"--technique: {TECHNIQUE_COLOURS[card.get('data-technique')]}"


def test_glyphs_are_hidden_from_screen_readers(parts):
    tree = html5lib.parse(parts.html, namespaceHTMLElements=False)
    svgs = [element for element in tree.iter() if element.tag.endswith("svg")]
    assert len(svgs) == len(FAMILIES)
    for svg in svgs:
        assert svg.get("aria-hidden") == "true"


# --- browser ---------------------------------------------------------------

CONTRAST_JS = """
(name) => {
  // WCAG contrast of each family's name and description against the page background.
  function luminance(colour) {
    const [r, g, b] = colour.match(/[\\d.]+/g).slice(0, 3).map(Number).map((c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  const background = luminance(getComputedStyle(document.body).backgroundColor);
  const ratios = [];
  for (const element of document.querySelectorAll(`#figure-${name} .fm-name, #figure-${name} .fm-description`)) {
    const text = luminance(getComputedStyle(element).color);
    const [light, dark] = text > background ? [text, background] : [background, text];
    ratios.push((light + 0.05) / (dark + 0.05));
  }
  return ratios;
}
"""


@pytest.mark.browser
def test_text_contrast_in_light_theme(essay_page):
    ratios = essay_page.evaluate(CONTRAST_JS, NAME)
    assert len(ratios) == 2 * len(FAMILIES)
    assert min(ratios) >= 4.5


@pytest.mark.browser
def test_text_contrast_in_dark_theme(site_url, artifacts):
    with chromium_context(viewport={"width": 1280, "height": 900}, color_scheme="dark") as context:
        page, watcher = open_essay(context, site_url)
        ratios = page.evaluate(CONTRAST_JS, NAME)
        assert len(ratios) == 2 * len(FAMILIES)
        assert min(ratios) >= 4.5
        screenshot_figure(page, NAME, artifacts / f"{NAME}-1280-dark.png")
        page.close()
        watcher.assert_clean()


@pytest.mark.browser
def test_families_stack_on_a_phone(site_url, artifacts):
    with phone_page(site_url) as page:
        lefts = page.evaluate(
            "(name) => Array.from(document.querySelectorAll(`#figure-${name} .fm-family`)).map((e) => e.getBoundingClientRect().left)",
            NAME,
        )
        assert len(set(round(left) for left in lefts)) == 1, f"cards are not in one column: {lefts}"
        assert horizontal_overflow(page, NAME) <= 0
        screenshot_figure(page, NAME, artifacts / f"{NAME}-390.png")


@pytest.mark.browser
def test_no_overflow_at_360(site_url):
    with chromium_context(viewport={"width": 360, "height": 740}) as context:
        page, watcher = open_essay(context, site_url)
        assert horizontal_overflow(page, NAME) <= 0
        page.close()
        watcher.assert_clean()


@pytest.mark.browser
def test_families_side_by_side_on_desktop(essay_page, artifacts):
    tops = essay_page.evaluate(
        "(name) => Array.from(document.querySelectorAll(`#figure-${name} .fm-family`)).map((e) => e.getBoundingClientRect().top)",
        NAME,
    )
    assert len(set(round(top) for top in tops)) == 1, f"cards are not in one row: {tops}"
    screenshot_figure(essay_page, NAME, artifacts / f"{NAME}-1280.png")
