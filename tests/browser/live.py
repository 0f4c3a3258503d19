"""A live hopchain for a real browser: a small demo world served on a free port, and
the headless Chromium (Debian's ``chromium`` and ``chromium-driver``) that visits it.

Used by the browser tests (``tests/browser/test_browser_pages.py``) and by
``docs/screenshots/make_screenshots.py``; neither copies any of it.

The world (:func:`live_world`), built once in a temporary folder through the real
commands: ``hopchain init``; ``hopchain demo`` of 1,000 units and 6 distributors over
last month and this one (so every home board has figures for the current period);
``hopchain detect`` (about 60 alerts: two pages of the alert list); last month settled,
approved and posted (statements for the distributors); a few units commissioned and
shipped at the manufacturer's site a minute ago (the warehouse's "today"). Then one
user per role, ``browser-ROLE``, password :data:`PASSWORD`; finance and admin have a
TOTP secret (:attr:`Account.totp_secret`) the browser types codes from, as a person
types them from an authenticator app. The app is served by Werkzeug's threaded
server on ``127.0.0.1`` and a port the system picks.
"""

from __future__ import annotations

import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
from click.testing import CliRunner
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from geo.models import TerritoryRow
from ledger import EntryKind, Hop, append_hops, unit_key
from ledger.database import make_engine
from ledger.models import Party, Site
from settlement.models import DepositMovement
from web import accounts, create_app
from web.account import totp
from web.cli import CliState, build_cli
from web.demo import PRODUCTS, gtin_of
from web.models import User
from web.roles import Role

__all__ = [
    "PASSWORD",
    "Account",
    "BrowserUnavailable",
    "LiveWorld",
    "console_errors",
    "live_world",
    "set_language",
    "sign_in",
    "sign_out",
    "start_browser",
]

PASSWORD = "browser tests: correct horse battery staple"
#: The window the tests and the screenshots use, in CSS pixels.
WIDTH, HEIGHT = 1280, 900
#: How long a page may take to load or a chart to draw, in seconds.
WAIT_S = 10.0
_RUN_LINE = re.compile(r"^run (\d+): ", re.MULTILINE)
# Every CSP violation of a page, recorded from the first script that runs in it.
_CSP_RECORDER = (
    "window.__cspViolations = [];"
    "document.addEventListener('securitypolicyviolation', function (e) {"
    "  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || ''));"
    "});"
)


class BrowserUnavailable(RuntimeError):
    """Chromium or its driver is missing or does not start; the message says which."""


@dataclass(frozen=True)
class Account:
    """A user of the live world: role, user name, party code (distributors and
    inspectors) and the TOTP secret (base32) of users who sign in with a second factor."""

    role: Role
    username: str
    party: str | None
    totp_secret: str | None


@dataclass(frozen=True)
class LiveWorld:
    """The served world: its base URL (``http://127.0.0.1:PORT``), one account per
    role, the names people typed (parties, territories, users, deposit reasons),
    which are data and may stay in any language on a page, and its database's URL
    (for a test to read what a page wrote)."""

    base_url: str
    accounts: Mapping[Role, Account]
    data_names: frozenset[str]
    db_url: str

    def url(self, path: str) -> str:
        return self.base_url + path


def _previous_month(now: datetime) -> str:
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _cli(config: Mapping[str, Any], *args: str) -> str:
    """``hopchain ARGS`` in this process on the world's instance; its output. Raises
    ``RuntimeError`` naming the command and its output when it exits non-zero."""
    state = CliState(test_config=config)
    try:
        result = CliRunner().invoke(build_cli(), list(args), obj=state, catch_exceptions=False)
    finally:
        if state._app is not None:
            with state._app.app_context():
                from web.db import get_engine

                get_engine().dispose()
    if result.exit_code != 0:
        raise RuntimeError(f"hopchain {' '.join(args)} exited {result.exit_code}: {result.output}")
    return result.output


def _todays_scans(db_url: str) -> None:
    """Four units commissioned and two of them shipped to a distributor, at the
    manufacturer's first site, a minute ago."""
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            maker = s.scalars(
                select(Party).where(Party.kind == "manufacturer").order_by(Party.code)
            ).first()
            dist = s.scalars(
                select(Party.code).where(Party.kind == "distributor").order_by(Party.code)
            ).first()
            if maker is None or dist is None:
                raise RuntimeError("the demo wrote no manufacturer or no distributor")
            site = s.scalars(
                select(Site.code).where(Site.party_id == maker.id).order_by(Site.code)
            ).first()
        at = int(time.time() * 1000) - 60_000
        gtin = gtin_of(PRODUCTS[0][0])
        keys = [unit_key(gtin, f"TODAY{n}") for n in range(4)]
        hops = [
            Hop(k, EntryKind.COMMISSIONING, maker.code, at + n, site=site)
            for n, k in enumerate(keys)
        ]
        hops += [
            Hop(k, EntryKind.SHIPPING, maker.code, at + 10 + n, counterparty=dist, site=site)
            for n, k in enumerate(keys[:2])
        ]
        bad = [r for r in append_hops(engine, hops) if r.status == "rejected"]
        if bad:
            raise RuntimeError(f"today's scans were refused: {bad[0].reason}")
    finally:
        engine.dispose()


def _inspection_party(s: Session) -> str:
    """The code of the demo's first inspection party, made (``INSP-BROWSER``) if it has none."""
    code = s.scalars(
        select(Party.code).where(Party.kind == "inspector").order_by(Party.code)
    ).first()
    if code is None:
        code = "INSP-BROWSER"
        s.add(Party(code=code, name="Browser Field Checks", kind="inspector"))
        s.flush()
    return code


def _accounts(db_url: str) -> tuple[dict[Role, Account], frozenset[str]]:
    """One user per role (distributor: of the first distributor by code; inspector:
    of the first inspection party), and the names that are data."""
    engine = make_engine(db_url)
    made: dict[Role, Account] = {}
    try:
        with Session(engine) as s:
            party = s.scalars(
                select(Party.code).where(Party.kind == "distributor").order_by(Party.code)
            ).first()
            parties = {Role.DISTRIBUTOR: party, Role.INSPECTOR: _inspection_party(s)}
            for role in Role:
                username = f"browser-{role.value}"
                code = parties.get(role)
                user_id = accounts.create_user(s, username, PASSWORD, role, party=code)
                secret = None
                if totp.required_for(role):
                    # set up with the code of the previous step, as the two-factor page
                    # would have: the code typed at sign-in is then a later, unused one
                    secret = pyotp.random_base32()
                    now = time.time()
                    earlier = pyotp.TOTP(secret).at(now - totp.STEP_SECONDS)
                    if not totp.enroll(s, user_id, secret, earlier, now_s=now):
                        raise RuntimeError(f"the second factor of {username} was not set up")
                made[role] = Account(role, username, code, secret)
            names = frozenset(
                name
                for column in (
                    Party.name,
                    Party.code,
                    TerritoryRow.name,
                    User.username,
                    User.display_name,
                    DepositMovement.reason,
                )
                for name in s.scalars(select(column))
                if name
            )
    finally:
        engine.dispose()
    return made, names


@contextmanager
def live_world(folder: Path) -> Iterator[LiveWorld]:
    """Build the world in ``folder`` (database and instance), serve it, and stop the
    server on exit. Raises ``RuntimeError`` naming the step that failed."""
    db_url = f"sqlite:///{folder / 'hopchain.db'}"
    config: dict[str, Any] = {
        "DATABASE_URL": db_url,
        "INSTANCE_PATH": folder / "instance",
        "SECRET_KEY": secrets.token_hex(32),
        "SECURE_COOKIES": False,  # plain HTTP on 127.0.0.1
    }
    last_month = _previous_month(datetime.now(UTC))
    _cli(config, "init")
    _cli(config, "demo", "--units", "1000", "--distributors", "6", "--months", "2",
         "--start", last_month)  # fmt: skip
    _cli(config, "detect")
    created = _RUN_LINE.search(_cli(config, "settle", "--period", last_month, "--as", "finance"))
    if created is None:
        raise RuntimeError(f"hopchain settle --period {last_month} said no run number")
    run = created.group(1)
    _cli(config, "settle", "approve", run, "--as", "finance2")
    _cli(config, "settle", "post", run, "--as", "finance")
    _todays_scans(db_url)
    made, names = _accounts(db_url)

    app = create_app(config)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-hopchain", daemon=True)
    thread.start()
    try:
        yield LiveWorld(f"http://127.0.0.1:{server.server_port}", made, names, db_url)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        from web.db import get_engine

        with app.app_context():
            get_engine().dispose()


def start_browser() -> WebDriver:
    """Headless Chromium, English first in Accept-Language, a :data:`WIDTH` x
    :data:`HEIGHT` viewport, its console kept (``driver.get_log("browser")``) and
    every page recording its CSP violations in ``window.__cspViolations``.

    Raises :class:`BrowserUnavailable` saying what is missing or why it did not start.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        missing = " and ".join(
            name
            for name, found in (("chromium", chromium), ("chromedriver", driver_path))
            if found is None
        )
        raise BrowserUnavailable(
            f"{missing} not found on PATH: install Debian's chromium and chromium-driver "
            "(make testdeps does)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace sandbox
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--lang=en-US",
        f"--window-size={WIDTH},{HEIGHT}",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(
            options=options, service=webdriver.ChromeService(executable_path=driver_path)
        )
    except WebDriverException as exc:
        first = (exc.msg or "no message").strip().splitlines()[0]
        raise BrowserUnavailable(f"chromium did not start under {driver_path}: {first}") from None
    driver.set_page_load_timeout(WAIT_S * 3)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _CSP_RECORDER})
    return driver


def console_errors(driver: WebDriver) -> list[str]:
    """The browser console's SEVERE messages since the last call (JavaScript errors,
    failed loads), but for the browser's own request of ``/favicon.ico``: the app has
    no icon, and that 404 is no page's error."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [
        str(e.get("message"))
        for e in entries
        if e.get("level") == "SEVERE" and "/favicon.ico " not in str(e.get("message"))
    ]


def _wait_for_page(driver: WebDriver, old_html: Any) -> None:
    """Until the page that held ``old_html`` (an element) is replaced and loaded."""

    def replaced(d: WebDriver) -> bool:
        try:
            old_html.tag_name  # noqa: B018 - raises once the old page is gone
        except WebDriverException:
            return bool(d.execute_script("return document.readyState") == "complete")
        return False

    WebDriverWait(driver, WAIT_S).until(replaced)


def submit(driver: WebDriver, button_css: str) -> None:
    """Click the button ``button_css`` and wait for the next page to load."""
    html = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, button_css).click()
    _wait_for_page(driver, html)


def follow(driver: WebDriver, link_css: str) -> None:
    """Click the link ``link_css`` and wait for the next page to load."""
    submit(driver, link_css)


def sign_in(driver: WebDriver, world: LiveWorld, role: Role) -> None:
    """Sign in through the login form as the role's user, typing the TOTP code of
    this moment on the code page when the role has a second factor. Raises
    ``AssertionError`` naming the user when the home page does not follow."""
    account = world.accounts[role]
    driver.get(world.url("/login"))
    driver.find_element(By.ID, "username").send_keys(account.username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    submit(driver, "main form button[type=submit]")
    if account.totp_secret is not None:
        assert driver.current_url.endswith("/login/code"), (
            f"{account.username}: no code page after the password ({driver.current_url})"
        )
        driver.find_element(By.ID, "code").send_keys(pyotp.TOTP(account.totp_secret).now())
        submit(driver, "main form button[type=submit]")
    signed_in = driver.find_elements(By.CSS_SELECTOR, ".whoami .whoami-name")
    assert signed_in, f"{account.username} is not signed in at {driver.current_url}"


def sign_out(driver: WebDriver) -> None:
    """Press "Sign out" in the top bar."""
    submit(driver, ".whoami form button[type=submit]")


def set_language(driver: WebDriver, code: str) -> None:
    """Choose the language ``code`` (``en``, ``zh_Hans_CN``, ``es``) with the page's
    language switcher, as a person would; nothing when it is already the page's."""
    buttons = driver.find_elements(
        By.CSS_SELECTOR, f'form.language-switcher button[name=locale][value="{code}"]'
    )
    if buttons:
        submit(driver, f'form.language-switcher button[name=locale][value="{code}"]')
