"""Screenshots of each home page in English and Simplified Chinese (``make screenshots``).

Builds the world of the browser tests (``tests/browser/live.py``: a small demo served
on a free port), signs in as each role with a home board through the login form,
switches the language with the page's switcher and saves the 1280 x 900 viewport as
``docs/screenshots/<role>-<lang>.png`` (``lang``: ``en``, ``zh``). Needs Chromium and
chromium-driver (``make testdeps`` installs them); exits 1 saying so without them.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.browser.live import (  # noqa: E402 - after the repository root is on sys.path
    BrowserUnavailable,
    live_world,
    set_language,
    sign_in,
    sign_out,
    start_browser,
)
from web.roles import Role  # noqa: E402

ROLES = (Role.CHANNEL_MANAGER, Role.FINANCE, Role.WAREHOUSE, Role.DISTRIBUTOR)
LANGUAGES = (("en", "en"), ("zh", "zh_Hans_CN"))


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    try:
        driver = start_browser()
    except BrowserUnavailable as exc:
        print(f"make screenshots: {exc}", file=sys.stderr)
        return 1
    try:
        with tempfile.TemporaryDirectory() as folder, live_world(Path(folder)) as world:
            for role in ROLES:
                sign_in(driver, world, role)
                for name, code in LANGUAGES:
                    set_language(driver, code)
                    # the charts animate in; the screenshot is of the drawn board
                    driver.execute_script(
                        "return new Promise(function (done) { setTimeout(done, 1200); });"
                    )
                    path = HERE / f"{role.value}-{name}.png"
                    driver.save_screenshot(str(path))
                    print(f"{path.relative_to(HERE.parents[1])}: {path.stat().st_size:,} bytes")
                set_language(driver, "en")
                sign_out(driver)
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
