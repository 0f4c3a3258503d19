"""The pages in a real browser (issue 11): headless Chromium signs in as each role
through the forms (finance and admin type their TOTP code), opens the home page in
English and, through the language switcher, in Simplified Chinese, pages through the
alert list and works one alert as the channel manager. On every page: no server error,
no JavaScript error or CSP violation in the browser's console, and on Chinese pages no
English word in the visible text (the check of ``tests/web/test_i18n_pages.py``). On the
home boards the charts (ECharts canvases) and the map (Leaflet's panes with the
territories drawn) must actually be drawn.

One browser and one served world (``tests/browser/live.py``), shared with the other
browser tests (``tests/browser/conftest.py``); skipped, saying why, when Chromium or
its driver is missing or does not start.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.live import (
    WAIT_S,
    LiveWorld,
    console_errors,
    follow,
    set_language,
    sign_in,
    sign_out,
    submit,
)
from tests.web.test_i18n_pages import english_left
from web.roles import Role

# one browser and one world for the browser tests: keep them on one xdist worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

#: Roles with a dashboard: the ids of the charts their home page draws, and whether it has the map.
BOARDS: dict[Role, tuple[tuple[str, ...], bool]] = {
    Role.CHANNEL_MANAGER: (("chart-weeks", "chart-regions", "chart-parties"), True),
    Role.FINANCE: (("chart-runs", "chart-money"), False),
    Role.WAREHOUSE: (("chart-scans",), False),
    Role.DISTRIBUTOR: (("chart-tiers", "chart-statements"), False),
}
HAN = re.compile(r"[\u4e00-\u9fff]")
ALERT_LINK = "table a[href^='/alerts/']"


@pytest.fixture
def signed_out(browser: WebDriver, world: LiveWorld) -> Iterator[WebDriver]:
    """The browser, with no one signed in before and after the test."""
    browser.delete_all_cookies()
    yield browser
    browser.delete_all_cookies()


def problems_on(driver: WebDriver, world: LiveWorld, chinese: bool) -> list[str]:
    """What is wrong with the page now shown: a server error, console errors, CSP
    violations, and (``chinese``) no Chinese at all or English words."""
    where = driver.current_url.removeprefix(world.base_url)
    found: list[str] = []
    lang = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    if lang != ("zh" if chinese else "en"):
        found.append(f"{where}: page language {lang!r}")
    if driver.find_elements(By.CSS_SELECTOR, ".status-code"):
        code = driver.find_element(By.CSS_SELECTOR, ".status-code").text
        found.append(f"{where}: error page {code}")
    body = driver.find_element(By.TAG_NAME, "body").text
    if "Internal Server Error" in body or "Traceback" in body:
        found.append(f"{where}: server error in the page")
    found += [f"{where}: console: {message}" for message in console_errors(driver)]
    violations = driver.execute_script("return window.__cspViolations || []")
    found += [f"{where}: CSP violation: {v}" for v in violations]
    if chinese:
        page = driver.page_source
        if not HAN.search(body):
            found.append(f"{where}: no Chinese text")
        found += [f"{where}: English: {text!r}" for text in english_left(page, world.data_names)]
    return found


def drawn(driver: WebDriver, role: Role) -> list[str]:
    """The charts and the map of the role's board that were not drawn."""
    charts, with_map = BOARDS[role]
    missing: list[str] = []

    def canvas_in(chart_id: str) -> Callable[[WebDriver], bool]:
        def drawn_yet(d: WebDriver) -> bool:
            return bool(d.find_elements(By.CSS_SELECTOR, f"#{chart_id} canvas"))

        return drawn_yet

    for chart_id in charts:
        try:
            WebDriverWait(driver, WAIT_S).until(canvas_in(chart_id))
        except TimeoutException:
            state = driver.find_element(By.ID, chart_id).get_attribute("class")
            missing.append(f"{chart_id} has no canvas (class {state!r})")
    if with_map:
        panes = driver.find_elements(By.CSS_SELECTOR, "#map-period .leaflet-map-pane")
        shapes = driver.find_elements(By.CSS_SELECTOR, "#map-period .leaflet-overlay-pane svg path")
        if not panes or not shapes:
            missing.append(f"map: {len(panes)} Leaflet map panes, {len(shapes)} shapes drawn")
    return missing


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_home_page_in_english_and_chinese(
    signed_out: WebDriver, world: LiveWorld, role: Role
) -> None:
    driver = signed_out
    sign_in(driver, world, role)
    assert driver.current_url.rstrip("/") == world.base_url, driver.current_url
    problems = problems_on(driver, world, chinese=False)
    if role in BOARDS:
        problems += [f"en {m}" for m in drawn(driver, role)]
    set_language(driver, "zh_Hans_CN")
    assert driver.current_url.rstrip("/") == world.base_url, driver.current_url
    problems += problems_on(driver, world, chinese=True)
    if role in BOARDS:
        problems += [f"zh {m}" for m in drawn(driver, role)]
    set_language(driver, "en")  # the user's profile keeps the choice: leave it as found
    problems += problems_on(driver, world, chinese=False)
    sign_out(driver)
    assert not problems, f"{role.value}:\n" + "\n".join(problems)


def test_channel_manager_pages_through_alerts_and_works_one(
    signed_out: WebDriver, world: LiveWorld
) -> None:
    driver = signed_out
    sign_in(driver, world, Role.CHANNEL_MANAGER)
    set_language(driver, "zh_Hans_CN")
    problems: list[str] = []
    driver.get(world.url("/alerts/"))
    problems += problems_on(driver, world, chinese=True)
    first_page = [
        a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, ALERT_LINK)
    ]
    assert len(set(first_page)) == 50, f"page 1 lists {len(set(first_page))} alerts, not 50"

    follow(driver, "nav.pager a[rel=next]")
    assert "page=2" in driver.current_url, driver.current_url
    problems += problems_on(driver, world, chinese=True)
    second_page = {
        a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, ALERT_LINK)
    }
    assert second_page and not second_page & set(first_page), "page 2 repeats page 1"

    follow(driver, "nav.pager a[rel=prev]")
    problems += problems_on(driver, world, chinese=True)
    back = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, ALERT_LINK)]
    assert back == first_page, "back on page 1, the list differs"

    # the first open alert: start investigating it
    open_rows = driver.find_elements(
        By.XPATH,
        "//table//tr[.//*[contains(@class, 'pill-open')]]//a[starts-with(@href, '/alerts/')]",
    )
    link = open_rows[0] if open_rows else driver.find_element(By.CSS_SELECTOR, ALERT_LINK)
    target = link.get_attribute("href") or ""
    link.click()
    WebDriverWait(driver, WAIT_S).until(lambda d: d.current_url == target)
    problems += problems_on(driver, world, chinese=True)
    submit(driver, "form[action$='/investigate'] button[type=submit]")
    assert driver.current_url == target, driver.current_url
    problems += problems_on(driver, world, chinese=True)
    assert not driver.find_elements(By.CSS_SELECTOR, "form[action$='/investigate']"), (
        "the alert still offers 'Start investigating' after it was pressed"
    )
    assert driver.find_elements(By.CSS_SELECTOR, "form[action$='/confirm']"), (
        "an alert under investigation offers no 'Confirm diversion'"
    )
    set_language(driver, "en")
    sign_out(driver)
    assert not problems, "\n".join(problems)


def test_alert_pages_have_no_english_left(signed_out: WebDriver, world: LiveWorld) -> None:
    """The channel manager's alert list (both pages) and one alert, in Chinese."""
    driver = signed_out
    sign_in(driver, world, Role.CHANNEL_MANAGER)
    set_language(driver, "zh_Hans_CN")
    problems: list[str] = []
    for path in ("/alerts/", "/alerts/?page=2"):
        driver.get(world.url(path))
        problems += problems_on(driver, world, chinese=True)
    follow(driver, ALERT_LINK)
    problems += problems_on(driver, world, chinese=True)
    set_language(driver, "en")
    sign_out(driver)
    assert not problems, "\n".join(problems)
