"""The inspector's page in a real phone-sized Chromium: the camera reads the label's QR
code (Chromium's fake camera plays a video of a printed Digital Link QR code), the
location button takes the phone's position, a photo is attached and the inspection
is recorded, in English and in Chinese, with no Content-Security-Policy violation.

Skipped, saying why, when Chromium or chromedriver is missing (``make testdeps``).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import qrcode
from flask import Flask
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from ledger import ensure_signing_key
from ledger.models import Unit
from sightings.models import Inspection
from tests.sightings.test_inspection import BERLIN, GTIN, build_world, key, png
from web.models import User

pytestmark = [pytest.mark.slow]

LINK = f"https://id.hopchain.example/01/{GTIN}/21/S1"
WAIT_S = 30
_CSP_RECORDER = (
    "window.__cspViolations = [];"
    "document.addEventListener('securitypolicyviolation', function (e) {"
    "  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || ''));"
    "});"
)


def write_y4m(path: Path, picture: Image.Image, frames: int = 10) -> None:
    """A Y4M video (4:2:0, 640 x 480, 10 frames a second) showing ``picture``:
    what ``--use-file-for-fake-video-capture`` plays as the camera."""
    canvas = Image.new("RGB", (640, 480), "white")
    side = 400
    canvas.paste(picture.convert("RGB").resize((side, side), Image.Resampling.NEAREST), (120, 40))
    y, cb, cr = canvas.convert("YCbCr").split()
    half = (320, 240)
    frame = b"FRAME\n" + y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        out.write(frame * frames)


def tap(driver: WebDriver, element: WebElement) -> None:
    """Scroll ``element`` to the middle of the phone's screen and click it (a DOM click:
    under mobile emulation the driver's pointer misses elements below the first screen)."""
    assert element.is_displayed(), element.get_attribute("id")
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element
    )


@pytest.fixture
def phone(tmp_path: Path) -> Iterator[WebDriver]:
    """A headless Chromium sized like a phone, its camera a video of the QR code."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("chromium or chromedriver not found on PATH (make testdeps installs them)")
    video = tmp_path / "camera.y4m"
    write_y4m(video, qrcode.make(LINK, border=4).get_image())
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
        "--window-size=412,915",
    ):
        options.add_argument(arg)
    try:
        driver = webdriver.Chrome(
            options=options, service=webdriver.ChromeService(executable_path=driver_path)
        )
    except WebDriverException as exc:
        pytest.skip(f"chromium did not start: {(exc.msg or '').strip().splitlines()[:1]}")
    driver.set_page_load_timeout(WAIT_S)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 412, "height": 915, "deviceScaleFactor": 1, "mobile": True},
    )
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _CSP_RECORDER})
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.mark.parametrize(("locale", "lang"), [("en", "en"), ("zh_Hans_CN", "zh")])
def test_an_inspector_scans_with_the_camera_locates_and_records_on_a_phone(
    phone: WebDriver,
    served: str,
    app: Flask,
    engine: Engine,
    make_user: Callable[..., int],
    user_password: str,
    tmp_path: Path,
    db_url: str,
    locale: str,
    lang: str,
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the page's browser side is the same on every database (SQLite runs it)")
    ensure_signing_key(Path(app.instance_path), "test.hopchain/ledger")
    build_world(engine)
    make_user("ines", "inspector", "INSP-1")
    with Session(engine) as s:
        s.scalars(select(User).where(User.username == "ines")).one().locale = locale
        s.commit()
    shelf = tmp_path / "shelf.png"
    shelf.write_bytes(png())
    phone.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": served, "permissions": ["geolocation"]}
    )
    phone.execute_cdp_cmd(
        "Emulation.setGeolocationOverride",
        {"latitude": BERLIN[0] / 1e6, "longitude": BERLIN[1] / 1e6, "accuracy": 25},
    )
    wait = WebDriverWait(phone, WAIT_S)
    phone.get(f"{served}/login")
    phone.find_element(By.ID, "username").send_keys("ines")
    phone.find_element(By.ID, "password").send_keys(user_password + Keys.ENTER)
    wait.until(lambda d: "/login" not in d.current_url)

    phone.get(f"{served}/inspect")
    assert phone.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    camera = wait.until(lambda d: d.find_element(By.ID, "camera-toggle"))
    wait.until(lambda d: camera.is_displayed())
    tap(phone, camera)
    code = phone.find_element(By.ID, "code")
    wait.until(lambda d: code.get_attribute("value"))
    assert code.get_attribute("value") == LINK
    tap(phone, phone.find_element(By.ID, "locate"))
    lat = phone.find_element(By.ID, "lat")
    wait.until(lambda d: lat.get_attribute("value"))
    assert lat.get_attribute("value") == "52.520000"
    assert phone.find_element(By.ID, "lon").get_attribute("value") == "13.405000"
    phone.find_element(By.ID, "shop").send_keys("Späti am Kanal")
    phone.find_element(By.ID, "photos").send_keys(str(shelf))
    tap(phone, phone.find_element(By.CSS_SELECTOR, ".inspect-submit"))
    wait.until(lambda d: d.current_url.rstrip("/").split("/")[-1].isdigit())

    verdict = phone.find_element(By.CSS_SELECTOR, ".verdict")
    assert "verdict-bad" in (verdict.get_attribute("class") or "") and "DE" in verdict.text
    assert phone.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    assert phone.execute_script("return window.__cspViolations") == []
    with Session(engine) as s:
        row = s.scalars(select(Inspection)).one()
        unit = s.scalar(select(Unit.key).where(Unit.id == row.unit_id))
    assert unit == key("S1") and (row.lat_e6, row.lon_e6) == BERLIN
    assert row.shop_name == "Späti am Kanal" and row.verdict == "out_of_zone"
