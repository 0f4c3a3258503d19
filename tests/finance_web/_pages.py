"""What the reference-data page tests share: a signed-in browser that posts forms
with the page's CSRF token, and valid GTINs."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ledger.ids import gs1_check_digit

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def words(page: str) -> str:
    """A page's text as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def gtin(n: int) -> str:
    """The ``n``-th GTIN-14 of a made-up company prefix, with its GS1 check digit."""
    body = f"0401234{n:06d}"
    return body + str(gs1_check_digit(body))


@dataclass
class Browser:
    """A signed-in test client that posts forms the way a browser does."""

    client: FlaskClient
    username: str

    def get(self, path: str, **kwargs: object) -> TestResponse:
        return self.client.get(path, **kwargs)

    def text(self, path: str) -> str:
        answer = self.client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer.get_data(as_text=True)

    def token(self, path: str = "/") -> str:
        match = _CSRF.search(self.client.get(path).get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, path: str, data: dict[str, object], *, follow: bool = False) -> TestResponse:
        body = {"csrf_token": self.token(), **data}
        return self.client.post(path, data=body, follow_redirects=follow)
