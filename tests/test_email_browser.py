"""The HTML email in a real browser (Debian's chromium, headless), at desktop and phone widths.

The page is the message body alone, as a webmail shows it, with no network. Each case is
saved as a screenshot under test-artifacts/ (its path is printed): the look of the alert an
operator opens. Checked: nothing wider than a phone, the headline, the advice and the last
lines visible, the facts one row each, and that the text the eye reads is what the record
says.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_browser import ARTIFACTS, CHROMIUM_ARGS, chromium, show
from test_render import CRASH, OOM, PROJECT, record

from engine.notify.render import render

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("name", ["oom", "crash"])
def test_the_email_reads_well_at_desktop_and_phone_widths(
    browser: Any, request: pytest.FixtureRequest, name: str, language: str, size: str
) -> None:
    decision = {"oom": OOM, "crash": CRASH}[name]
    message = render(record(decision), "html", PROJECT, language=language, emoji=True)
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    refused: list[str] = []
    page.route("**/*", lambda route: (refused.append(route.request.url), route.abort()))
    page.set_content(f'<!doctype html><meta charset="utf-8">{message.body}')
    try:
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{scroll_width}px wide at a {width}px {size}"
        text = page.inner_text("body")
        assert message.title.split("] ", 1)[1] in text.replace("🚨 ", "")  # the headline
        assert ("What to do" in text) or ("建议操作" in text)
        last_line = (decision.line or str(decision.values["last_lines"])).split("\n")[-1]
        assert last_line in page.inner_text("pre")
        rows = page.locator("table tr").count()
        assert rows >= 4 and "\n" not in page.locator("table tr").first.inner_text()
        headline_box = page.locator("div div").first.bounding_box()
        assert headline_box is not None and headline_box["y"] < 40  # at the top
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"email-{name}-{language}-{size}.png"
        page.screenshot(path=str(path), full_page=True)
        show(request, f"screenshot: {path}")
        assert refused == []  # the message loads nothing
    finally:
        page.close()

