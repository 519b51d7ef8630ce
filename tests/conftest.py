"""Shared fixtures: a seeded street-scale world in a real SQLite file, a live server, a browser."""
from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest

from governance.core.config import load_settings
from governance.core.db import make_engine, migrate

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WORLD_SEED = 7
# A fixed "now" (naive UTC = 2026-11-20 12:00 Asia/Shanghai) makes KPIs reproducible.
WORLD_NOW = datetime(2026, 11, 20, 4, 0, 0)
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
TEST_PASSWORD = "correct-horse-battery"


def pytest_addoption(parser):
    """`--db postgresql` runs the whole suite against a throwaway PostgreSQL server instead of SQLite."""
    import os

    parser.addoption("--db", default=os.environ.get("COCKPIT_TEST_DB", "sqlite"), choices=["sqlite", "postgresql"],
                     help="database the seeded world lives in (default sqlite)")


def pytest_report_header(config):
    return f"Grid Cockpit test database: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def test_db(request) -> str:
    """"sqlite" or "postgresql": where this run's world lives."""
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def world_engine(tmp_path_factory, test_db, request):
    """Engine of the street-scale demo world (seed 7): a real SQLite file, or a PostgreSQL database."""
    from demo_world.seed import seed_world

    if test_db == "postgresql":
        pg = request.getfixturevalue("pg_server")
        template = pg.create_database("world_template")
        migrate(template)
        summary = seed_world(template, scale="street", seed=WORLD_SEED, now=WORLD_NOW)
        accounts = create_test_accounts(template)
        template.dispose()  # a template database may have no open connections
        engine = pg.create_database("world", template="world_template")
        engine.template_of = pg
    else:
        path = tmp_path_factory.mktemp("world") / "world.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        summary = seed_world(engine, scale="street", seed=WORLD_SEED, now=WORLD_NOW)
        accounts = create_test_accounts(engine)
    engine.summary = summary
    engine.accounts = accounts
    return engine


def create_test_accounts(engine) -> dict:
    """One account per role (password TEST_PASSWORD); returns username → area code, plus areas used."""
    from sqlalchemy import select

    from governance.accounts.accounts import create_user
    from governance.models import Area, Staff
    from governance.events.queries import world_info

    with engine.begin() as conn:
        focus = world_info(conn)["focus_code"]
        comms = conn.execute(select(Area.code).where(Area.level == "community", Area.path.like(f"%/{focus}/%"))
                             .order_by(Area.code)).scalars().all()
        grid = conn.execute(select(Area.id, Area.code).where(Area.level == "general_grid",
                                                             Area.path.like(f"%/{comms[0]}/%")).order_by(Area.code)).first()
        staff = conn.execute(select(Staff.id).where(Staff.area_id == grid.id).order_by(Staff.id)).scalar()
        accounts = {"admin": ("admin", None), "leader": ("subdistrict_leader", focus),
                    "community": ("community_staff", comms[0]), "community_b": ("community_staff", comms[1]),
                    "gridworker": ("grid_worker", grid.code), "viewer": ("viewer", focus)}
        for name, (role, area) in accounts.items():
            create_user(conn, name, TEST_PASSWORD, role, area, WORLD_NOW, display_name=f"测试{name}",
                        staff_id=staff if role == "grid_worker" else None)
        from governance.accounts.department_accounts import create_department_user

        create_department_user(conn, "dept", TEST_PASSWORD, "property", focus, WORLD_NOW, display_name="测试物业")
        accounts["dept"] = ("department", focus)  # 吹哨报到: a department serving the sub-district
    return {"focus": focus, "communities": comms, "grid": grid.code,
            **{name: area for name, (_role, area) in accounts.items()}}


def session_cookies(engine, base_url: str, username: str | None = None, device_id: int | None = None,
                    now: datetime = WORLD_NOW) -> list[dict]:
    """Browser cookies of a fresh session for a user (or wall device), opened directly in the database."""
    from urllib.parse import urlsplit

    from sqlalchemy import select

    from governance.accounts.accounts import open_session
    from governance.models import UserAccount

    with engine.begin() as conn:
        uid = conn.execute(select(UserAccount.id).where(UserAccount.username == username)).scalar() if username else None
        token, csrf = open_session(conn, now, user_id=uid, device_id=device_id)
    host = urlsplit(base_url).hostname
    return [{"name": "gc_session", "value": token, "domain": host, "path": "/", "httpOnly": True, "sameSite": "Lax"},
            {"name": "_csrf_token", "value": csrf, "domain": host, "path": "/", "sameSite": "Strict"}]


def http_session(engine, base_url: str, username: str | None, now: datetime = WORLD_NOW,
                 device_id: int | None = None):
    """A requests.Session signed in as `username` or wall device (cookies and the CSRF header a browser sends)."""
    import requests

    s = requests.Session()
    for c in session_cookies(engine, base_url, username, device_id=device_id, now=now):
        s.cookies.set(c["name"], c["value"], domain=c["domain"], path="/")
        if c["name"] == "_csrf_token":
            s.headers["X-CSRFToken"] = c["value"]
    return s


@pytest.fixture(scope="session")
def portal_port():
    """Port of the test portal that frames /embed (on localhost: a different site than 127.0.0.1)."""
    from .processes import free_port

    return free_port()


@pytest.fixture()
def empty_engine(tmp_path):
    """Engine of a fresh, migrated SQLite file with no data."""
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    migrate(engine)
    return engine


@pytest.fixture()
def engine(world_engine, tmp_path):
    """A private, writable copy of the seeded world."""
    from .feed_helpers import world_copy

    copy = world_copy(world_engine, tmp_path)
    yield copy
    copy.dispose()
    if copy.dialect.name == "postgresql":  # a copy per test filled the CI disk (~50 GB over the suite)
        try:
            world_engine.template_of.drop_database(copy.url.database)
        except Exception:  # noqa: BLE001 - a copy left behind costs disk, not correctness
            pass


@pytest.fixture()
def server():
    """A scripted local HTTP server standing in for a feed or a webhook."""
    from .feed_server import ScriptedServer

    s = ScriptedServer()
    yield s
    s.close()


@pytest.fixture(scope="session")
def cockpit_app(world_engine, portal_port, tmp_path_factory):
    """The one cockpit Dash app of the test session (Dash keeps pages and callbacks process-global)."""
    from dashboard.app import create_app

    # live_streams: this one server serves every browser test's pages, and a closed page's change stream is
    # found closed only at its next keep-alive line (up to 15 s): at the default 4 a test could be refused its
    # stream (503, retried after 60 s) for the pages of the tests before it.
    settings = load_settings(database_url=str(world_engine.url), refresh_seconds=2, cache_seconds=0, secret_key=TEST_SECRET,
                             live_streams=64,
                             embed_origins=(f"http://localhost:{portal_port}",),
                             cache_dir=str(tmp_path_factory.mktemp("cache")),
                             photo_dir=str(tmp_path_factory.mktemp("photos")), photo_max_mb=2)
    return create_app(settings, world_engine, clock=lambda: WORLD_NOW)


@pytest.fixture(scope="session")
def live_server(cockpit_app):
    """Base URL of the cockpit served from the seeded world on a free localhost port."""
    from werkzeug.serving import make_server

    app = cockpit_app
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no downloaded browser builds)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture()
def page_factory(browser, world_engine, live_server):
    """Open pages at a viewport size as a signed-in role, recording every request URL the page makes."""
    contexts = []

    def open_page(width=1920, height=1080, enforce_csp=False, user: str | None = "leader"):
        # Playwright's wait_for_function evaluates strings, which our CSP forbids; tests that
        # check the CSP itself open pages with enforce_csp=True and wait on selectors only.
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", bypass_csp=not enforce_csp)
        if user:
            ctx.add_cookies(session_cookies(world_engine, live_server, user))
        contexts.append(ctx)
        page = ctx.new_page()
        page.requests = []
        page.console_errors = []
        page.on("request", lambda req: page.requests.append(req.url))
        page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
        return page

    yield open_page
    for ctx in contexts:
        ctx.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(out))
    return out


@pytest.fixture(scope="session")
def pg_server():
    """The run's throwaway PostgreSQL server."""
    from devservers.postgres import PgServer, PostgresMissing

    try:
        server = PgServer()
    except PostgresMissing as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(pg_server):
    """URL of an empty PostgreSQL database on the run's throwaway server."""
    pg_server.create_database("gridcockpit").dispose()
    return pg_server.url("gridcockpit")
