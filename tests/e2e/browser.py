"""A real headless Chromium for the web pages, driven by Playwright.

Why Playwright (Python, with the system Chromium as its executable): it waits for elements and
conditions itself (`expect(...).to_have_text`), so no test sleeps; it drives the browser over CDP,
so Debian's chromium works without Playwright's own browser downloads; and it can route every
request the page makes, which is how these tests keep the browser on loopback (below).

Where no Chromium can be found the tests are skipped with the reason; `.ci/run` installs Debian's
chromium so CI always runs them.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

# Chromium's own background traffic (updates, sync, field trials) is switched off, and every name
# but the loopback ones resolves to nothing; the route guard below refuses the rest.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-domain-reliability", "--metrics-recording-only",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
SCREENSHOTS = os.environ.get("SCREENSHOTS")
NO_CHROMIUM = "no Chromium on this machine (apt-get install chromium, or CHROMIUM=<path>; CI installs it)"  # `make screenshots` sets it to docs/images


def chromium_path() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)


def _loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Tab:
    """One browser context (its own cookies) whose every request must stay on loopback."""

    def __init__(self, browser: Any):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.refused: list[str] = []
        self.errors: list[str] = []
        self.failed_loads: list[str] = []  # the page's own resources (not its API calls) answered >= 400
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()

    def _guard(self, route: Any) -> None:
        if _loopback(route.request.url):
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort("blockedbyclient")

    def open(self, url: str) -> Any:
        page = self.context.new_page() if self.page.url not in ("about:blank", "") else self.page
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("response", self._loaded)
        page.goto(url)
        return page

    def _loaded(self, response: Any) -> None:
        if response.status >= 400 and response.request.resource_type not in ("fetch", "xhr"):
            self.failed_loads.append(f"{response.status} {response.url}")

    def screenshot(self, page: Any, name: str) -> None:
        """Saved for the README when `make screenshots` runs the tests, else not at all."""
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        assert not self.refused, f"the page tried to leave loopback: {self.refused}"


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    opened = Tab(browser)
    try:
        yield opened
    finally:
        opened.close()
