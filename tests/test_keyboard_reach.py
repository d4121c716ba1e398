"""Figures far down the page are reachable by keyboard and anchors stay put."""

from __future__ import annotations

import pytest

from browser import PageWatcher

pytestmark = pytest.mark.browser

ALL_READY = """() => Array.from(document.querySelectorAll('script.bokeh-item'))
                 .every(item => item.dataset.state === 'ready')"""


@pytest.fixture
def phone_page(desktop_context, site_url):
    page = desktop_context.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    watcher = PageWatcher(page, allowed_origin=site_url.split("/essay/")[0])
    page.goto(site_url)
    page.wait_for_function("() => window.essay !== undefined")
    yield page
    page.close()
    watcher.assert_clean()


def test_first_tab_renders_every_figure(phone_page):
    assert phone_page.evaluate(ALL_READY) is False

    phone_page.keyboard.press("Tab")

    phone_page.wait_for_function(ALL_READY, timeout=30_000)
    composer_controls = phone_page.locator("#composer-root .noUi-handle, #composer-root select")
    assert composer_controls.count() >= 4


def test_contents_jump_lands_on_section_after_figures_render(phone_page):
    phone_page.evaluate("() => { location.hash = 'references'; }")

    phone_page.wait_for_function(ALL_READY, timeout=30_000)
    # The return scroll may be smooth, so wait for the heading to settle under the masthead.
    phone_page.wait_for_function(
        """() => {
            const top = document.getElementById('references').getBoundingClientRect().top;
            const masthead = document.querySelector('.masthead').getBoundingClientRect().height;
            return top >= masthead - 1 && top <= masthead + 40;
        }""",
        timeout=10_000,
    )
    phone_page.wait_for_timeout(500)
    top = phone_page.evaluate("() => document.getElementById('references').getBoundingClientRect().top")
    masthead = phone_page.evaluate("() => document.querySelector('.masthead').getBoundingClientRect().height")
    assert masthead - 1 <= top <= masthead + 40
