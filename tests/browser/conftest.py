"""The browser tests' one headless Chromium and one served world (``live.py``), for the
whole session: building the world takes most of a minute, so every browser test
module shares it (each module marks itself ``xdist_group("browser")``, so under
``--dist loadgroup`` they all run on one worker and build it once).

- ``browser``: the driver of :func:`tests.browser.live.start_browser`; the tests
  are skipped, saying why, when Chromium or its driver is missing or does not start.
- ``world``: the :class:`tests.browser.live.LiveWorld` served until the session ends.

A test that changes the browser's emulation (device, user agent, permissions)
restores it before it ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from tests.browser.live import BrowserUnavailable, LiveWorld, live_world, start_browser


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    try:
        driver = start_browser()
    except BrowserUnavailable as exc:
        pytest.skip(f"no browser for the browser tests: {exc}")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def world(browser: WebDriver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorld]:
    with live_world(tmp_path_factory.mktemp("live")) as served:
        yield served
