"""One way through the house: the web layer (dashboard/, layers/) reads and writes only through governance.

An `ast` scan of every module in dashboard/ and layers/ fails on SQL built there: a call of sqlalchemy's
select / insert / update / delete / text (imported by name, under an alias, or as `sqlalchemy.select`),
a `Model.__table__.select()`-style statement, or any `.execute(` / `.exec_driver_sql(` call. The web
layer calls named query functions in governance/ instead (tests below cover the ones with logic).
"""
from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from governance.core.access import Principal
from governance.accounts.accounts import create_device, device_by_token, open_session, session_kind
from governance.accounts.api_clients import embed_area_allowed
from governance.events.dispatch import staff_name
from governance.models import Area, AuthSession, Event, Quarantine, Staff, UserAccount
from governance.events.quarantine import open_records
from governance.events.queries import community_names, event_ids_in_scope, event_status, reporter_contact

from .conftest import WORLD_NOW

ROOT = Path(__file__).resolve().parent.parent
WEB = ("dashboard", "layers")
SQL_BUILDERS = {"select", "insert", "update", "delete", "text"}
TABLE_METHODS = {"select", "insert", "update", "delete"}   # Model.__table__.select() and friends
RUNS = {"execute", "exec_driver_sql"}

# (module path, what) → why it may stay. A stale entry (no longer found) fails too.
ALLOWED: dict[tuple[str, str], str] = {
    ("dashboard/live_routes.py", ".execute"):
        "PostgreSQL LISTEN on a raw psycopg connection: subscribes to the data-version channel, not a query",
}


def _sqlalchemy_bindings(tree: ast.AST) -> tuple[dict[str, str], set[str]]:
    """({local name: sqlalchemy SQL builder it is bound to}, local names bound to a sqlalchemy module)."""
    builders, modules = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in SQL_BUILDERS:
                    builders[alias.asname or alias.name] = alias.name
                elif alias.name in ("sql", "expression", "future"):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    modules.add(alias.asname or alias.name.split(".")[0])
    return builders, modules


def _root_name(node: ast.AST) -> str | None:
    """The name an attribute chain starts from (`sa` of `sa.sql.select`)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def inline_sql(source: str) -> list[tuple[int, str]]:
    """(line, what) of every SQL statement built or run in `source`."""
    tree = ast.parse(source)
    builders, modules = _sqlalchemy_bindings(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in builders:
            found.append((node.lineno, builders[func.id]))
        elif isinstance(func, ast.Attribute):
            if func.attr in SQL_BUILDERS and _root_name(func.value) in modules:
                found.append((node.lineno, f"sqlalchemy.{func.attr}"))
            elif (func.attr in TABLE_METHODS and isinstance(func.value, ast.Attribute)
                  and func.value.attr in ("__table__", "table")):
                found.append((node.lineno, f"__table__.{func.attr}"))
            elif func.attr in RUNS:
                found.append((node.lineno, f".{func.attr}"))
    return sorted(found)


def web_modules() -> list[Path]:
    """Every Python module of the web layer."""
    return sorted(p for d in WEB for p in (ROOT / d).rglob("*.py"))


def test_web_layer_builds_no_sql():
    """No module of dashboard/ or layers/ builds or runs SQL (except the allowed, explained ones)."""
    seen, offences = set(), []
    for path in web_modules():
        rel = path.relative_to(ROOT).as_posix()
        for line, what in inline_sql(path.read_text(encoding="utf-8")):
            if (rel, what) in ALLOWED:
                seen.add((rel, what))
            else:
                offences.append(f"{rel}:{line} {what}(…) — move it into a named query function in governance/")
    assert not offences, "\n".join(offences)
    assert seen == set(ALLOWED), f"stale allow-list entries: {set(ALLOWED) - seen}"
    assert len(web_modules()) > 40  # the scan really walked the web layer


PLANTED = [
    ("from sqlalchemy import select\ndef f(conn):\n    return conn.execute(select(1)).scalar()\n",
     [(3, ".execute"), (3, "select")]),
    ("from sqlalchemy import select as s\nq = s(Area.code)\n", [(2, "select")]),
    ("import sqlalchemy as sa\nq = sa.text('SELECT 1')\n", [(2, "sqlalchemy.text")]),
    ("import sqlalchemy\nq = sqlalchemy.sql.expression.delete(Area)\n", [(2, "sqlalchemy.delete")]),
    ("from sqlalchemy.sql import expression as e\nq = e.update(Area)\n", [(2, "sqlalchemy.update")]),
    ("from sqlalchemy import text\nrows = engine.connect().exec_driver_sql('SELECT 1')\nt = text('x')\n",
     [(2, ".exec_driver_sql"), (3, "text")]),
    ("q = Brief.__table__.select().with_only_columns(Brief.content)\n", [(1, "__table__.select")]),
    ("rows = run(Area.__table__.insert(), [])\n", [(1, "__table__.insert")]),
]


@pytest.mark.parametrize("source,expected", PLANTED, ids=[f"planted-{i}" for i in range(len(PLANTED))])
def test_scan_finds_planted_inline_queries(source, expected):
    """The scan is able to fail: each planted way of writing a query in the web layer is found."""
    assert inline_sql(source) == expected


def test_scan_leaves_governance_calls_and_dict_updates_alone():
    """Calling governance query functions, dict.update and list.insert is not SQL."""
    clean = ("from governance.events.queries import event_status\nfrom dash import html\n"
             "def f(conn, d):\n    d.update({'a': 1}); [].insert(0, 1); html.Div().children\n"
             "    return event_status(conn, 1), where_text({}), select_area(2)\n")
    assert inline_sql(clean) == []


def _path(conn, code: str) -> str:
    return conn.execute(select(Area.path).where(Area.code == code)).scalar_one()


class _Client:
    """The two fields of an api_client row embed_area_allowed reads."""

    def __init__(self, area_code):
        self.area_code = area_code


def test_embed_area_allowed_is_the_clients_subtree(world_engine):
    """A portal may embed its own area and every area below it; nothing beside, above or unknown."""
    acc = world_engine.accounts
    with world_engine.connect() as conn:
        focus_path = _path(conn, acc["focus"])
        inside = conn.execute(select(Area.code, Area.path).where(Area.path.like(f"{focus_path}%"))).all()
        outside = conn.execute(select(Area.code, Area.path).where(~Area.path.like(f"{focus_path}%"))).all()
        assert len(inside) > 5 and len(outside) > 1
        client = _Client(acc["focus"])
        allowed = {code for code, _ in inside + outside if embed_area_allowed(conn, client, code)}
        assert allowed == {code for code, path in inside}  # computed apart: prefix of the materialised path
        community = _Client(acc["communities"][0])
        assert embed_area_allowed(conn, community, acc["communities"][0])
        assert not embed_area_allowed(conn, community, acc["communities"][1])  # a sibling community
        assert not embed_area_allowed(conn, community, acc["focus"])          # its parent
        assert not embed_area_allowed(conn, client, "no-such-area")
        assert not embed_area_allowed(conn, _Client(None), acc["focus"])      # a client with no area: nothing
        assert not embed_area_allowed(conn, _Client(""), acc["focus"])


def test_event_ids_in_scope_keeps_only_the_principals_events(world_engine):
    """Ids of events inside the scope survive; events elsewhere, unknown ids and an empty scope do not."""
    acc = world_engine.accounts
    with world_engine.connect() as conn:
        comm_path = _path(conn, acc["communities"][0])
        rows = conn.execute(select(Event.id, Event.area_path).order_by(Event.id).limit(400)).all()
        ids = [r.id for r in rows] + [10**9]
        mine = [r.id for r in rows if (r.area_path or "").startswith(comm_path)]
        assert mine and len(mine) < len(rows)
        community = Principal(kind="user", role="community_staff", scope=(comm_path,))
        assert sorted(event_ids_in_scope(conn, community, ids)) == mine
        everyone = Principal(kind="user", role="admin", scope=("/",))
        assert sorted(event_ids_in_scope(conn, everyone, ids)) == [r.id for r in rows if r.area_path is not None]
        assert event_ids_in_scope(conn, Principal(kind="anonymous"), ids) == []
        assert event_ids_in_scope(conn, everyone, []) == []


def test_session_kind_names_revoked_and_expired_sessions_too(engine, world_engine):
    """The wall sign-in page asks what a dead cookie was: the kind survives revocation; unknown → None."""
    with engine.begin() as conn:
        device = device_by_token(conn, create_device(conn, "测试大屏-web-reads", world_engine.accounts["focus"],
                                                     WORLD_NOW, "test"))
        user = conn.execute(select(UserAccount.id).where(UserAccount.username == "leader")).scalar_one()
        wall, _ = open_session(conn, WORLD_NOW, device_id=device)
        person, _ = open_session(conn, WORLD_NOW, user_id=user)
        conn.execute(update(AuthSession).values(revoked_at=WORLD_NOW, expires_at=WORLD_NOW - timedelta(days=1)))
    with engine.connect() as conn:
        assert session_kind(conn, wall) == "kiosk"
        assert session_kind(conn, person) == "user"
        assert session_kind(conn, "forged-token") is None
        assert session_kind(conn, "") is None and session_kind(conn, None) is None


def test_open_records_newest_unresolved_first(engine):
    """Resolved records are left out; the newest come first; `limit` caps the list."""
    with engine.begin() as conn:
        before = [r["id"] for r in open_records(conn, 10_000)]
        conn.execute(insert(Quarantine), [
            {"source": "test", "source_key": f"K{i}", "received_at": WORLD_NOW, "reason": f"原因{i}",
             "raw": "{}", "resolved": i % 2 == 1} for i in range(6)])
    with engine.connect() as conn:
        rows = open_records(conn, 10_000)
        new = [r for r in rows if r["source"] == "test"]
        assert [r["source_key"] for r in new] == ["K4", "K2", "K0"]
        assert [r["id"] for r in rows if r["source"] != "test"] == before
        assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
        assert [r["source_key"] for r in open_records(conn, 2)] == ["K4", "K2"]
        assert set(new[0]) >= {"received_at", "source", "source_key", "reason", "raw"}


def test_small_reads_answer_what_the_pages_show(world_engine):
    """community_names, staff_name, event_status and reporter_contact against the seeded rows."""
    with world_engine.connect() as conn:
        names = community_names(conn)
        assert set(world_engine.accounts["communities"]) <= set(names)
        assert set(conn.execute(select(Area.level).where(Area.code.in_(list(names)))).scalars()) == {"community"}
        staff = conn.execute(select(Staff.id, Staff.name).order_by(Staff.id)).first()
        assert staff_name(conn, staff.id) == staff.name and staff_name(conn, 10**9) is None
        ev = conn.execute(select(Event.id, Event.status, Event.reporter_name, Event.reporter_phone)
                          .where(Event.reporter_phone.isnot(None)).order_by(Event.id)).first()
        assert event_status(conn, ev.id) == ev.status and event_status(conn, 10**9) is None
        contact = reporter_contact(conn, ev.id)
        assert (contact.reporter_name, contact.reporter_phone) == (ev.reporter_name, ev.reporter_phone)
        assert reporter_contact(conn, 10**9) is None
