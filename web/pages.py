"""The home page: each role's dashboard of the day's questions, then its pages.

Channel managers, finance, warehouse staff and distributors see their board
(:mod:`settlement.dashboards`, :func:`scanners.warehouse_dashboard`); the other
roles see the cards of their pages, which every board keeps below its figures.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

import scanners
import settlement
from web import dashboards
from web.db import get_engine
from web.roles import ALL_ROLES, Role
from web.security import Principal, current_principal, require_roles

__all__ = ["bp"]

bp = Blueprint("pages", __name__)


def _actor(me: Principal) -> settlement.Actor:
    return settlement.Actor(me.name, me.role.value, me.party_id, me.user_id)


def _period() -> tuple[str, str]:
    """The month asked for (``?period=YYYY-MM``), else this one; and a message
    saying why a bad value was set aside ("" when none)."""
    current = settlement.current_period()
    asked = request.args.get("period", "").strip()
    if not asked:
        return current, ""
    if dashboards.PERIOD.match(asked) and asked[:4] != "0000":
        return asked, ""
    return current, gettext(
        "The period %(value)s is not a month written YYYY-MM (such as %(example)s); "
        "showing %(current)s instead.",
        value=asked[:20],
        example=current,
        current=current,
    )


def _channel(me: Principal) -> ResponseReturnValue:
    period, problem = _period()
    board = settlement.channel_dashboard(get_engine(), period, _actor(me))
    return _render("home/channel_manager.html", me, board, dashboards.channel_spec(board), problem)


def _finance(me: Principal) -> ResponseReturnValue:
    board = settlement.finance_dashboard(get_engine(), settlement.current_period(), _actor(me))
    return _render("home/finance.html", me, board, dashboards.finance_spec(board))


def _warehouse(me: Principal) -> ResponseReturnValue:
    since, until = dashboards.local_day_ms(settlement.now_ms())
    board = scanners.warehouse_dashboard(get_engine(), since, until, party_id=me.party_id)
    return _render("home/warehouse.html", me, board, dashboards.warehouse_spec(board))


def _distributor(me: Principal) -> ResponseReturnValue:
    if me.party_id is None:  # a distributor account always has one; never show all
        abort(403)
    board = settlement.distributor_dashboard(get_engine(), settlement.current_period(), _actor(me))
    return _render("home/distributor.html", me, board, dashboards.distributor_spec(board))


def _render(
    template: str, me: Principal, board: Any, spec: dict[str, Any], problem: str = ""
) -> ResponseReturnValue:
    return render_template(
        template,
        me=me,
        board=board,
        spec=spec,
        problem=problem,
        finding_label=dashboards.finding_label,
        status_label=dashboards.status_label,
    )


_BOARDS = {
    Role.CHANNEL_MANAGER: _channel,
    Role.FINANCE: _finance,
    Role.WAREHOUSE: _warehouse,
    Role.DISTRIBUTOR: _distributor,
}


@bp.route("/")
@require_roles(*ALL_ROLES)
def home() -> ResponseReturnValue:
    me = current_principal()
    if me is None:  # require_roles has let only signed-in callers through
        abort(401)
    board = _BOARDS.get(me.role)
    if board is None:
        return render_template("home.html", me=me)
    return board(me)
