"""Every problem the import code finds itself has words in the reader's language
(issue 11): each ``ImportProblem.worded(row, column, "id", "English", ...)`` and
``cells.fail(column, "id", "English", ...)`` in settlement/imports.py,
settlement/import_tables.py and risk/bank_import.py (found by reading the source) has the same English in
``web.reasons.IMPORT_PROBLEMS``, so the page's English is the CLI's byte for byte, and
Chinese and Spanish words that keep every value; no words are kept for ids no longer
raised. Engine reasons carried into a problem (``ImportProblem.of``) are said with
their own id (tests/web/test_reasons_ids.py covers those)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

import settlement
from web.reasons import IMPORT_PROBLEMS, problem_words

ROOT = Path(__file__).resolve().parents[2]
#: The import code: settlement's reference-data imports and risk's payments file.
SOURCES = (
    ROOT / "settlement" / "imports.py",
    ROOT / "settlement" / "import_tables.py",
    ROOT / "risk" / "bank_import.py",
)
HAN = re.compile(r"[\u4e00-\u9fff]")
#: Sample values: a date is written as the language writes dates, columns as it lists.
SAMPLES = {"day": "2026-10-03", "columns": "gtin, currency and valid_from"}


@dataclass(frozen=True)
class Site:
    where: str
    message_id: str
    english: str
    names: tuple[str, ...]

    def problem(self) -> settlement.ImportProblem:
        values = {name: SAMPLES.get(name, f"X{name}") for name in self.names}
        return settlement.ImportProblem.worded(7, "col", self.message_id, self.english, **values)


def _sites() -> list[Site]:
    found = []
    for path in SOURCES:
        name = path.name
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            first = {"worded": 2, "fail": 1}.get(node.func.attr)
            if first is None or len(node.args) < first + 2:
                continue
            mid, english = node.args[first], node.args[first + 1]
            if not (isinstance(mid, ast.Constant) and isinstance(mid.value, str)):
                continue  # the helper passing its own argument on
            assert isinstance(english, ast.Constant) and isinstance(english.value, str), (
                f"{name}:{node.lineno}: the English of {mid.value!r} must be written out"
            )
            names = tuple(k.arg for k in node.keywords if k.arg is not None)
            found.append(Site(f"{name}:{node.lineno}", mid.value, english.value, names))
    return found


SITES = _sites()


def test_the_import_code_words_its_problems() -> None:
    assert len(SITES) >= 20
    assert {s.message_id for s in SITES} == set(IMPORT_PROBLEMS), (
        "an id without words in web/reasons.py, or words for an id no longer raised"
    )


@pytest.mark.parametrize("site", SITES, ids=lambda s: f"{s.where}:{s.message_id}")
def test_words_are_the_import_codes_english_and_translated(words_app: Flask, site: Site) -> None:
    assert IMPORT_PROBLEMS[site.message_id] == site.english
    problem = site.problem()
    with words_app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert problem_words(problem) == problem.message
    with words_app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        chinese = problem_words(problem)
    with words_app.test_request_context("/", headers={"Accept-Language": "es"}):
        spanish = problem_words(problem)
    assert HAN.search(chinese), chinese
    assert spanish != problem.message, spanish
    for name, value in problem.values.items():
        if name not in SAMPLES:
            assert value in chinese and value in spanish, (name, chinese, spanish)


def test_a_problem_without_words_stays_english(words_app: Flask) -> None:
    odd = settlement.ImportProblem(3, "gtin", "something new", "no_such_id", {"x": "1"})
    broken = settlement.ImportProblem(3, "gtin", "row 9 again", "ecb_day_twice", {"x": "1"})
    with words_app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert problem_words(odd) == "something new"
        assert problem_words(broken) == "row 9 again"
        dated = problem_words(
            settlement.ImportProblem.worded(
                4, "Date", "ecb_day_twice", "%(day)s is also row %(row)s", day="2026-10-03", row=2
            )
        )
    assert "2026年10月3日" in dated and "2" in dated
