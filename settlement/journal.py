"""A posted run as a double-entry journal for the general ledger (CSV).

Every statement line becomes one balanced entry: a debit and a credit of the
line's amount, between the account its category maps to and the statement's
control account (``payable`` when the statement pays the distributor,
``receivable`` when the distributor owes). A positive line (rebate, reward,
deposit taken) debits its category's account; a negative line (penalty, balance
brought forward, a true-up of rebate already paid) credits it. A balance the
statement netted without a line of its own (``total - sum(lines)``) is moved
from ``receivable`` to the control account, so the control account ends on the
statement total either way.

Columns (``docs/journal.md``): ``date`` (ISO date the run was posted, UTC),
``account``, ``party`` (party code), ``debit``, ``credit`` (major units as
decimal text with the currency's ISO 4217 exponent; the other side empty),
``currency`` and ``reference`` (``run/statement/line position``, ``bf`` for a
netted balance). Debits equal credits per statement and currency; the function
checks it before it returns anything.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from ledger.times import format_day
from settlement.common import Actor, SettlementError
from settlement.exports import format_minor
from settlement.models import SettlementRun, Statement, StatementLine
from settlement.runs import RunStateError
from settlement.seals import check_posted_run

__all__ = [
    "DEFAULT_CHART",
    "JOURNAL_COLUMNS",
    "JOURNAL_ENV",
    "AccountTotal",
    "Chart",
    "JournalError",
    "JournalRow",
    "JournalStatement",
    "JournalSummary",
    "chart_from_env",
    "chart_from_json",
    "format_journal",
    "journal_csv",
    "journal_rows",
    "journal_summary",
    "load_posted_run",
    "posted_statements",
]

JOURNAL_COLUMNS = ("date", "account", "party", "debit", "credit", "currency", "reference")
#: Environment variable holding a JSON object that overrides accounts of the default chart.
JOURNAL_ENV = "HOPCHAIN_JOURNAL_ACCOUNTS"
_READERS = ("finance", "admin", "auditor")
_MAX_ACCOUNT = 64


class JournalError(SettlementError):
    """A journal that cannot be made: unmapped category, bad chart, unbalanced entry."""


@dataclass(frozen=True, slots=True)
class Chart:
    """Which account each line category posts to, and the two control accounts.

    ``accounts`` maps a statement line category (``rebate``, ``penalty``...) to an
    account name or code; ``payable`` collects what statements pay distributors,
    ``receivable`` what distributors owe (a netted balance leaves it too).
    """

    accounts: Mapping[str, str]
    payable: str
    receivable: str

    def account_for(self, category: str, where: str) -> str:
        try:
            return self.accounts[category]
        except KeyError:
            raise JournalError(
                f"{where}: line category {category!r} has no account in the journal chart; "
                f"add it to {JOURNAL_ENV}"
            ) from None


#: The default chart (documented in docs/journal.md).
DEFAULT_CHART = Chart(
    accounts={
        "rebate": "rebate expense",
        "trueup": "rebate expense",
        "penalty": "penalty income",
        "reward": "reward expense",
        "adjustment": "settlement adjustments",
        "deposit": "deposit liability",
        "balance": "receivable",
    },
    payable="payable",
    receivable="receivable",
)


def chart_from_json(text: str, base: Chart = DEFAULT_CHART) -> Chart:
    """``base`` with the accounts a JSON object names replaced.

    Keys are line categories (those of ``base``) or ``payable`` / ``receivable``;
    values are non-empty account names of at most 64 characters. Raises
    :class:`JournalError` naming the key at fault.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JournalError(
            f"{JOURNAL_ENV} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(raw, dict):
        raise JournalError(f'{JOURNAL_ENV} must be a JSON object like {{"rebate": "6100"}}')
    known = {*base.accounts, "payable", "receivable"}
    accounts = dict(base.accounts)
    payable, receivable = base.payable, base.receivable
    for key, value in raw.items():
        if key not in known:
            raise JournalError(
                f"{JOURNAL_ENV}: {key!r} is not a line category or control account; "
                f"use one of {', '.join(sorted(known))}"
            )
        if not isinstance(value, str) or not value.strip() or len(value) > _MAX_ACCOUNT:
            raise JournalError(
                f"{JOURNAL_ENV}: the account of {key!r} must be a non-empty text of at most "
                f"{_MAX_ACCOUNT} characters, got {value!r}"
            )
        if "\n" in value or "\r" in value:
            raise JournalError(f"{JOURNAL_ENV}: the account of {key!r} has a line break")
        if key == "payable":
            payable = value.strip()
        elif key == "receivable":
            receivable = value.strip()
        else:
            accounts[key] = value.strip()
    return Chart(accounts, payable, receivable)


def chart_from_env(env: Mapping[str, str]) -> Chart:
    """The chart configured by ``HOPCHAIN_JOURNAL_ACCOUNTS`` (the default when unset)."""
    text = env.get(JOURNAL_ENV, "").strip()
    return chart_from_json(text) if text else DEFAULT_CHART


@dataclass(frozen=True, slots=True)
class JournalStatement:
    """What the journal needs of one statement: ``lines`` are (position, category, amount)."""

    run_id: int
    statement_id: int
    party_code: str
    currency: str
    total_minor: int
    lines: tuple[tuple[int, str, int], ...]


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One leg of an entry; exactly one of ``debit_minor`` and ``credit_minor`` is > 0."""

    date: str
    account: str
    party: str
    debit_minor: int
    credit_minor: int
    currency: str
    reference: str


def _entry(
    out: list[JournalRow], debit: str, credit: str, amount: int, date: str,
    st: JournalStatement, ref: str,
) -> None:  # fmt: skip
    """Append ``amount`` (> 0) debited to ``debit`` and credited to ``credit``."""
    out.append(JournalRow(date, debit, st.party_code, amount, 0, st.currency, ref))
    out.append(JournalRow(date, credit, st.party_code, 0, amount, st.currency, ref))


def journal_rows(
    statements: Iterable[JournalStatement], date: str, chart: Chart = DEFAULT_CHART
) -> list[JournalRow]:
    """The journal of ``statements`` booked on ``date`` (ISO date), in their order.

    Zero lines book nothing. Raises :class:`JournalError` for a category the chart
    does not map, or (a bug) when a statement's debits and credits differ.
    """
    out: list[JournalRow] = []
    for st in statements:
        start = len(out)
        control = chart.payable if st.total_minor >= 0 else chart.receivable
        prefix = f"{st.run_id}/{st.statement_id}"
        for position, category, amount in st.lines:
            if amount == 0:
                continue
            where = f"statement {st.statement_id} line {position}"
            account = chart.account_for(category, where)
            ref = f"{prefix}/{position}"
            if amount > 0:
                _entry(out, account, control, amount, date, st, ref)
            else:
                _entry(out, control, account, -amount, date, st, ref)
        netted = st.total_minor - sum(a for _, _, a in st.lines)
        if netted < 0:  # a receivable brought forward and settled by this statement
            _entry(out, control, chart.receivable, -netted, date, st, f"{prefix}/bf")
        elif netted > 0:
            _entry(out, chart.receivable, control, netted, date, st, f"{prefix}/bf")
        _check_balanced(out[start:], st)
    return out


def _check_balanced(rows: Sequence[JournalRow], st: JournalStatement) -> None:
    debit: dict[str, int] = defaultdict(int)
    credit: dict[str, int] = defaultdict(int)
    for r in rows:
        debit[r.currency] += r.debit_minor
        credit[r.currency] += r.credit_minor
    for ccy in debit.keys() | credit.keys():
        if debit[ccy] != credit[ccy]:
            raise JournalError(
                f"statement {st.statement_id}: debits {debit[ccy]} and credits {credit[ccy]} "
                f"{ccy} differ"
            )


def load_posted_run(s: Session, run_id: int) -> SettlementRun:
    """The run ``run_id``; :class:`RunStateError` naming its status unless it is posted,
    and :class:`~settlement.seals.StatementTampered` naming a statement of it that no
    longer matches its hash (nothing changed in the database is booked or paid)."""
    run = s.get(SettlementRun, run_id)
    if run is None:
        raise SettlementError(f"no settlement run {run_id}")
    if run.status != "posted" or run.posted_ms is None:
        raise RunStateError(
            f"run {run_id} is {run.status}; only a posted run has a journal and a payment file"
        )
    check_posted_run(s, run)
    return run


def posted_statements(s: Session, run: SettlementRun) -> list[JournalStatement]:
    """The run's statements with their lines, by party code (for journal and payments)."""
    stmts = s.execute(
        select(Statement, Party.code)
        .join(Party, Party.id == Statement.party_id)
        .where(Statement.run_id == run.id)
        .order_by(Party.code, Statement.id)
    ).all()
    lines: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for sid, pos, cat, amount in s.execute(
        select(
            StatementLine.statement_id,
            StatementLine.position,
            StatementLine.category,
            StatementLine.amount_minor,
        )
        .join(Statement, Statement.id == StatementLine.statement_id)
        .where(Statement.run_id == run.id)
        .order_by(StatementLine.statement_id, StatementLine.position)
    ):
        lines[int(sid)].append((int(pos), str(cat), int(amount)))
    return [
        JournalStatement(run.id, st.id, str(code), st.currency, st.total_minor, tuple(lines[st.id]))
        for st, code in stmts
    ]


def _posted_date(run: SettlementRun) -> str:
    assert run.posted_ms is not None
    return format_day(run.posted_ms)


def _rows(
    engine: Engine, run_id: int, actor: Actor, chart: Chart
) -> tuple[SettlementRun, list[JournalRow]]:
    actor.require(*_READERS, action="read run journals")
    with Session(engine) as s:
        run = load_posted_run(s, run_id)
        rows = journal_rows(posted_statements(s, run), _posted_date(run), chart)
        s.expunge(run)
        return run, rows


def journal_csv(
    engine: Engine, run_id: int, actor: Actor, *, chart: Chart = DEFAULT_CHART
) -> bytes:
    """The posted run's journal as UTF-8 CSV with the header :data:`JOURNAL_COLUMNS`.

    Finance, admins and auditors. Raises :class:`RunStateError` for a run that is
    not posted (naming its status), :class:`SettlementError` for a missing run,
    :class:`JournalError` for a line category the chart does not map.
    """
    _, rows = _rows(engine, run_id, actor, chart)
    return format_journal(rows)


def format_journal(rows: Iterable[JournalRow]) -> bytes:
    """``rows`` as UTF-8 CSV: the header :data:`JOURNAL_COLUMNS`, amounts in major units."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(JOURNAL_COLUMNS)
    for r in rows:
        w.writerow(
            (
                r.date,
                r.account,
                r.party,
                format_minor(r.debit_minor, r.currency) if r.debit_minor else "",
                format_minor(r.credit_minor, r.currency) if r.credit_minor else "",
                r.currency,
                r.reference,
            )
        )
    return buf.getvalue().encode()


@dataclass(frozen=True, slots=True)
class AccountTotal:
    account: str
    currency: str
    debit_minor: int
    credit_minor: int


@dataclass(frozen=True, slots=True)
class JournalSummary:
    """A posted run's journal totalled per account and currency (its trial balance)."""

    run_id: int
    period: str
    date: str
    entries: int  # rows of the CSV
    accounts: tuple[AccountTotal, ...]


def journal_summary(
    engine: Engine, run_id: int, actor: Actor, *, chart: Chart = DEFAULT_CHART
) -> JournalSummary:
    """Debit and credit totals per account and currency of :func:`journal_csv`'s rows."""
    run, rows = _rows(engine, run_id, actor, chart)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        t = totals[(r.account, r.currency)]
        t[0] += r.debit_minor
        t[1] += r.credit_minor
    return JournalSummary(
        run.id,
        run.period,
        _posted_date(run),
        len(rows),
        tuple(AccountTotal(a, c, d, k) for (a, c), (d, k) in sorted(totals.items())),
    )
