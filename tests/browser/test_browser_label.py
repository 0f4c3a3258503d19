"""A unit's QR code opened as a phone opens it (issue 14), in a real browser.

The shared headless Chromium (``conftest.py``) becomes a phone through the DevTools
protocol (the driver was started as a desktop, and Chrome's ``mobileEmulation`` is a
start-up option): a 390 x 844 CSS-pixel screen at device pixel ratio 3, a mobile
Chrome user agent, touch, the reader's ``Accept-Language``, the geolocation
permission granted to the live server's origin and a position. It opens the
Digital Link URL a label's QR code carries on the live server (``/01/{gtin}/21/
{serial}``, the resolver's 307 to the consumer's page), once with an English phone
and once with a Chinese one, and checks what the reader sees: the verdict in the
phone's language, the product, a page that fits the screen (no sideways scrolling),
no error, console error or CSP violation, and on the Chinese page no English word.
Then it taps "Share my location" and waits for the thank-you words; the world's
database then holds one public sighting of that unit, at the place rounded to about
1 km (:func:`sightings.policy.coarse_e6`), in the page's language.

The words expected are the catalogue's own (``web/translations``), not a copy. While
the Chinese catalogue does not yet translate the label page's words (the
translations are filled last), the Chinese run checks everything else and is
marked xfail naming the English left.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.support import Translations
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.database import make_engine
from ledger.models import Unit
from settlement.models import Product
from sightings.models import PublicSighting
from sightings.policy import coarse_e6
from tests.browser.live import HEIGHT, WAIT_S, WIDTH, LiveWorld
from tests.browser.test_browser_pages import problems_on

# the browser and the world are the other browser tests': keep them on one xdist worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

#: The phone: an iPhone 14's screen in CSS pixels and pixel ratio, Chrome on Android's agent.
PHONE_WIDTH, PHONE_HEIGHT, PIXEL_RATIO = 390, 844, 3
MOBILE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
)
TRANSLATIONS = Path(__file__).resolve().parents[2] / "web" / "translations"
GENUINE = "Genuine"
THANKS = "Thank you: your sighting helps us stop counterfeits."


@dataclass(frozen=True)
class Reader:
    """A phone's language: the page's ``lang``, its ``Accept-Language``, the catalogue
    locale, and where it stands (degrees) with the place it should be kept at
    (micro-degrees, rounded to about 1 km)."""

    lang: str
    accept_language: str
    locale: str
    at: tuple[float, float]
    kept: tuple[int, int]


READERS = [
    # the Eiffel Tower; Shanghai's Bund: what the phone reports, and what is kept
    Reader("en", "en-GB,en;q=0.9", "en", (48.858370, 2.294481), (48_860_000, 2_290_000)),
    Reader("zh", "zh-CN,zh;q=0.9", "zh_Hans_CN", (31.239690, 121.499740), (31_240_000, 121_500_000)),
]  # fmt: skip


@dataclass(frozen=True)
class Label:
    """A unit of the world a reader scans: its codes, its product's name, its row id."""

    gtin: str
    serial: str
    product: str
    unit_id: int

    @property
    def qr_path(self) -> str:
        """The path of the Digital Link URL in the unit's QR code (``scanners.labels``)."""
        return f"/01/{self.gtin}/21/{self.serial}"


def _words(locale: str, message: str) -> str:
    """``message`` as the catalogue of ``locale`` says it (itself in English)."""
    if locale == "en":
        return message
    return str(Translations.load(str(TRANSLATIONS), [locale]).gettext(message))


def _labels(world: LiveWorld) -> list[Label]:
    """Units of the demo shipped into a market (in stock or sold), with their product,
    one per reader, none of them seen by the public yet."""
    engine = make_engine(world.db_url)
    try:
        with Session(engine) as s:
            seen = select(PublicSighting.unit_id)
            rows = s.execute(
                select(Unit.gtin, Unit.serial, Product.name, Unit.id)
                .join(Product, Product.gtin == Unit.gtin)
                .where(
                    Unit.state.in_(("in_stock", "sold")),
                    Unit.serial.is_not(None),
                    Unit.id.not_in(seen),
                )
                .order_by(Unit.id)
                .limit(len(READERS))
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == len(READERS), "the live world has too few units shipped to a market"
    return [Label(str(g), str(s), str(n), int(i)) for g, s, n, i in rows]


def _sightings(world: LiveWorld, unit_id: int) -> list[PublicSighting]:
    engine = make_engine(world.db_url)
    try:
        with Session(engine) as s:
            found = s.scalars(select(PublicSighting).where(PublicSighting.unit_id == unit_id)).all()
            s.expunge_all()
            return list(found)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def labels(world: LiveWorld) -> dict[str, Label]:
    return dict(zip((r.lang for r in READERS), _labels(world), strict=True))


@pytest.fixture
def phone(browser: WebDriver, world: LiveWorld) -> Iterator[Callable[[Reader], WebDriver]]:
    """Turns the shared browser into the reader's phone; the desktop browser of the
    other tests again afterwards (metrics, agent, touch, permissions, position, cookies)."""
    desktop_agent = str(browser.execute_script("return navigator.userAgent"))
    browser.delete_all_cookies()

    def as_phone(reader: Reader) -> WebDriver:
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": PHONE_WIDTH,
                "height": PHONE_HEIGHT,
                "deviceScaleFactor": PIXEL_RATIO,
                "mobile": True,
            },
        )
        browser.execute_cdp_cmd(
            "Network.setUserAgentOverride",
            {"userAgent": MOBILE_AGENT, "acceptLanguage": reader.accept_language},
        )
        browser.execute_cdp_cmd(
            "Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5}
        )
        browser.execute_cdp_cmd(
            "Browser.grantPermissions",
            {"origin": world.base_url, "permissions": ["geolocation"]},
        )
        lat, lon = reader.at
        browser.execute_cdp_cmd(
            "Emulation.setGeolocationOverride",
            {"latitude": lat, "longitude": lon, "accuracy": 25},
        )
        return browser

    try:
        yield as_phone
    finally:
        browser.execute_cdp_cmd("Emulation.clearGeolocationOverride", {})
        browser.execute_cdp_cmd("Browser.resetPermissions", {})
        browser.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})
        browser.execute_cdp_cmd(
            "Network.setUserAgentOverride",
            {"userAgent": desktop_agent, "acceptLanguage": "en-US,en"},
        )
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )
        browser.delete_all_cookies()


def _layout(driver: WebDriver) -> dict[str, float]:
    found: dict[str, float] = driver.execute_script(
        "var s = document.scrollingElement;"
        "return {inner: window.innerWidth, scroll: s.scrollWidth, ratio: window.devicePixelRatio,"
        " touch: navigator.maxTouchPoints};"
    )
    return found


def _shared(driver: WebDriver) -> tuple[str, str]:
    """Tap "Share my location"; the status line's class and words once the answer came."""
    button = WebDriverWait(driver, WAIT_S).until(
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, ".label-share-button"))
    )
    button.click()

    asking = driver.find_element(By.ID, "label-share").get_attribute("data-asking")

    def answered(d: WebDriver) -> tuple[str, str] | None:
        # "asking your phone…" first, then the server's answer (or why not)
        status = d.find_element(By.CSS_SELECTOR, ".label-share .label-status")
        classes, text = status.get_attribute("class") or "", status.text
        if "label-status-bad" in classes or ("label-status-ok" in classes and text != asking):
            return classes, text
        return None

    try:
        result: tuple[str, str] = WebDriverWait(driver, WAIT_S).until(answered)
    except TimeoutException:
        status = driver.find_element(By.CSS_SELECTOR, ".label-share .label-status")
        pytest.fail(f"no answer to the shared location after {WAIT_S} s: {status.text!r}")
    return result


@pytest.mark.parametrize("reader", READERS, ids=[r.lang for r in READERS])
def test_a_phone_opens_the_qr_link_and_shares_its_place(
    phone: Callable[[Reader], WebDriver],
    world: LiveWorld,
    labels: dict[str, Label],
    reader: Reader,
) -> None:
    label = labels[reader.lang]
    driver = phone(reader)
    driver.get(world.url(label.qr_path))

    # the resolver sent the phone to the consumer's page of that unit
    assert driver.current_url == world.url(f"/label{label.qr_path}"), driver.current_url
    verdict = driver.find_element(By.ID, "label-verdict").text
    assert verdict == _words(reader.locale, GENUINE), verdict
    assert driver.find_element(By.CSS_SELECTOR, "h1.label-product").text == label.product
    facts = driver.find_element(By.CSS_SELECTOR, ".label-facts").text
    assert label.gtin in facts and label.serial in facts, facts
    for picture in driver.find_elements(By.CSS_SELECTOR, "img.label-picture"):
        loaded = driver.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth", picture
        )
        assert loaded, "the product's picture did not load"

    # a phone's screen, and the page fits it: nothing to scroll sideways
    layout = _layout(driver)
    assert layout["inner"] == PHONE_WIDTH, layout
    assert layout["ratio"] == PIXEL_RATIO and layout["touch"] > 0, layout
    assert layout["scroll"] <= layout["inner"], f"the page scrolls sideways: {layout}"

    # the reader agrees to share: the thank-you words, and the place kept coarse
    classes, said = _shared(driver)
    assert "label-status-ok" in classes and said == _words(reader.locale, THANKS), (classes, said)
    rows = _sightings(world, label.unit_id)
    assert [(r.lat_e6, r.lon_e6) for r in rows] == [reader.kept], rows
    assert rows[0].locale.startswith(reader.lang), rows[0].locale
    lat, lon = reader.at
    assert reader.kept == (coarse_e6(round(lat * 1e6)), coarse_e6(round(lon * 1e6)))
    assert _layout(driver)["scroll"] <= PHONE_WIDTH, "the answer made the page scroll sideways"

    # what the reader saw was all in their language; the product's name is data
    named = dataclasses.replace(world, data_names=world.data_names | {label.product})
    problems = problems_on(driver, named, chinese=reader.lang == "zh")
    if problems and reader.lang == "zh" and _words(reader.locale, GENUINE) == GENUINE:
        pytest.xfail(
            "the zh catalogue does not translate the label page yet: " + "; ".join(problems)
        )
    assert not problems, "\n".join(problems)
