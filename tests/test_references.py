"""References of events and audit rows hold on both databases.

SQLite enforces them with foreign keys; PostgreSQL with statement-level triggers (migration 0010)
that must refuse what the foreign keys refused, under the same names, and lock as they locked.
"""
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import delete, insert, text, update
from sqlalchemy.exc import IntegrityError, NotSupportedError

from governance.models import Area, Category, Event, EventAudit

AT = datetime(2026, 11, 20, 4)
MISSING = 987_654_321
POINT = '{"type":"Point","coordinates":[104.06,30.67]}'


def event_row(key: str, **values) -> dict:
    """Every column of a valid event (category 1101, no area), with `values` on top (COPY sets no defaults)."""
    return {"source": "push", "source_key": key, "category_code": "1101", "title": "引用测试", "description": "",
            "address": "", "area_id": None, "outside_grid": True, "severity": 1, "status": "collect",
            "handling_level": "grid", "reported_at": AT, "updated_at": AT, "is_drill": False, "rework_count": 0,
            "duplicate_of_id": None, **values}


def add_event(engine, key: str, **values) -> int:
    """Insert one event and return its id."""
    with engine.begin() as conn:
        return conn.execute(insert(Event).values(event_row(key, **values)).returning(Event.id)).scalar_one()


def add_audit(engine, event_id: int) -> None:
    """Insert one audit row for an event."""
    with engine.begin() as conn:
        conn.execute(insert(EventAudit).values(event_id=event_id, at=AT, actor="测试", action="接入", field="status"))


def add_area(engine, code: str = "REF-TEST") -> int:
    """A new micro-grid nothing else refers to (no children, no staff); returns its id."""
    with engine.begin() as conn:
        return conn.execute(insert(Area).values(
            code=code, name="引用测试", level="micro_grid", path=f"/{code}/", geometry=POINT, min_lon=104.06,
            min_lat=30.67, max_lon=104.06, max_lat=30.67, centroid_lon=104.06, centroid_lat=30.67)
            .returning(Area.id)).scalar_one()


def add_category(engine, code: str = "9901") -> str:
    """A new category nothing else refers to."""
    with engine.begin() as conn:
        conn.execute(insert(Category).values(code=code, name="引用测试", family="测试"))
    return code


def assert_statement_refused(engine, statement, constraint: str) -> None:
    """Running `statement` in its own transaction is refused as a violation of `constraint`."""
    with pytest.raises(IntegrityError) as exc:
        with engine.begin() as conn:
            conn.execute(statement)
    assert_refused(exc, constraint)


def assert_refused(excinfo, constraint: str) -> None:
    """The error is a foreign-key violation; on PostgreSQL 23503 under the constraint's name."""
    orig = getattr(excinfo.value, "orig", excinfo.value)
    if hasattr(orig, "sqlstate"):
        assert orig.sqlstate == "23503" and orig.diag.constraint_name == constraint, str(orig)
    else:
        assert "FOREIGN KEY" in str(orig)


@pytest.mark.parametrize("column, value, constraint", [
    ("area_id", MISSING, "event_area_id_fkey"),
    ("category_code", "9999", "event_category_code_fkey"),
    ("duplicate_of_id", MISSING, "event_duplicate_of_id_fkey"),
])
def test_event_with_an_unknown_reference_is_refused(engine, column, value, constraint):
    with pytest.raises(IntegrityError) as exc:
        add_event(engine, "REF-BAD", **{column: value})
    assert_refused(exc, constraint)


def test_audit_row_of_an_unknown_event_is_refused(engine):
    with pytest.raises(IntegrityError) as exc:
        add_audit(engine, MISSING)
    assert_refused(exc, "event_audit_event_id_fkey")


def test_valid_multi_row_insert_is_accepted(engine):
    area, category = add_area(engine), add_category(engine)
    original = add_event(engine, "REF-ORIG")
    rows = [event_row(f"REF-{i}", area_id=area, category_code=category, duplicate_of_id=original if i % 2 else None)
            for i in range(5)]
    with engine.begin() as conn:
        ids = conn.execute(insert(Event).returning(Event.id), rows).scalars().all()
        conn.execute(insert(EventAudit), [{"event_id": i, "at": AT, "actor": "测试", "action": "接入", "field": "status"}
                                          for i in ids])
        assert conn.execute(text("SELECT COUNT(*) FROM event WHERE area_id = :a AND category_code = :c"),
                            {"a": area, "c": category}).scalar() == 5


def test_moving_an_event_to_an_unknown_area_is_refused(engine):
    eid = add_event(engine, "REF-MOVE", area_id=add_area(engine))
    assert_statement_refused(engine, update(Event).where(Event.id == eid).values(area_id=MISSING), "event_area_id_fkey")


def test_deleting_a_referenced_area_or_category_is_refused(engine):
    area, category = add_area(engine), add_category(engine)
    add_event(engine, "REF-USES", area_id=area, category_code=category)
    assert_statement_refused(engine, delete(Area).where(Area.id == area), "event_area_id_fkey")
    assert_statement_refused(engine, delete(Category).where(Category.code == category), "event_category_code_fkey")


def test_changing_a_referenced_key_is_refused(engine):
    area, category = add_area(engine), add_category(engine)
    add_event(engine, "REF-KEY", area_id=area, category_code=category)
    assert_statement_refused(engine, update(Area).where(Area.id == area).values(id=MISSING), "event_area_id_fkey")
    assert_statement_refused(engine, update(Category).where(Category.code == category).values(code="9902"),
                             "event_category_code_fkey")


def test_deleting_an_event_with_audit_rows_or_duplicates_is_refused(engine):
    audited, original = add_event(engine, "REF-AUDITED"), add_event(engine, "REF-ORIGINAL")
    add_audit(engine, audited)
    add_event(engine, "REF-DUPLICATE", duplicate_of_id=original)
    for eid, constraint in ((audited, "event_audit_event_id_fkey"), (original, "event_duplicate_of_id_fkey")):
        assert_statement_refused(engine, delete(Event).where(Event.id == eid), constraint)


def test_deleting_what_nothing_references_any_more_is_accepted(engine):
    area = add_area(engine)
    original = add_event(engine, "REF-GONE-1", area_id=area)
    duplicate = add_event(engine, "REF-GONE-2", area_id=area, duplicate_of_id=original)
    add_audit(engine, duplicate)
    with engine.begin() as conn:  # an event and its duplicate go in one statement, after their audit rows
        conn.execute(delete(EventAudit).where(EventAudit.event_id == duplicate))
        conn.execute(delete(Event).where(Event.id.in_([original, duplicate])))
        conn.execute(delete(Area).where(Area.id == area))
        assert conn.execute(text("SELECT COUNT(*) FROM area WHERE id = :a"), {"a": area}).scalar() == 0


def test_moving_an_audit_row_or_renumbering_an_event_is_checked(engine):
    audited = add_event(engine, "REF-AUDITED")
    add_audit(engine, audited)
    assert_statement_refused(engine, update(EventAudit).where(EventAudit.event_id == audited).values(event_id=MISSING), "event_audit_event_id_fkey")
    assert_statement_refused(engine, update(Event).where(Event.id == audited).values(id=MISSING), "event_audit_event_id_fkey")


# PostgreSQL only: the bulk path (COPY) and locking.

@pytest.fixture()
def pg_engine(engine, test_db):
    """The private world copy, on PostgreSQL only."""
    if test_db != "postgresql":
        pytest.skip("PostgreSQL only (COPY and row locks)")
    return engine


def _copy_batch(engine, bad: str | None) -> None:
    """COPY four events (one a duplicate of another in the same COPY) and their audit rows; `bad` breaks one."""
    from data_sources.upsert import _copy

    with engine.begin() as conn:
        ids = [conn.execute(text("SELECT nextval(pg_get_serial_sequence('event', 'id'))")).scalar() for _ in range(4)]
        area = conn.execute(text("SELECT id FROM area WHERE level = 'micro_grid' ORDER BY id LIMIT 1")).scalar()
        rows = [event_row(f"REF-COPY-{i}", id=eid, area_id=area, outside_grid=False) for i, eid in enumerate(ids)]
        rows[1]["duplicate_of_id"] = ids[0]
        if bad in ("area_id", "category_code", "duplicate_of_id"):
            rows[2][bad] = "9999" if bad == "category_code" else MISSING
        _copy(conn, Event.__table__, rows)
        audits = [{"event_id": eid, "at": AT, "actor": "测试", "action": "接入", "field": "status"} for eid in ids]
        if bad == "event_id":
            audits[3]["event_id"] = MISSING
        _copy(conn, EventAudit.__table__, audits)


def test_copy_of_valid_events_and_audit_rows_is_accepted(pg_engine):
    _copy_batch(pg_engine, None)
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM event e JOIN event_audit a ON a.event_id = e.id "
                                 "WHERE e.source_key LIKE 'REF-COPY-%'")).scalar() == 4


@pytest.mark.parametrize("column, constraint", [
    ("area_id", "event_area_id_fkey"), ("category_code", "event_category_code_fkey"),
    ("duplicate_of_id", "event_duplicate_of_id_fkey"), ("event_id", "event_audit_event_id_fkey"),
])
def test_copy_with_one_unknown_reference_fails(pg_engine, column, constraint):
    import psycopg

    with pytest.raises(psycopg.IntegrityError) as exc:
        _copy_batch(pg_engine, column)
    assert_refused(exc, constraint)
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM event WHERE source_key LIKE 'REF-COPY-%'")).scalar() == 0


def test_truncating_a_referenced_table_alone_is_refused(pg_engine):
    for table, constraint in (("category", "event_category_code_fkey"), ("event", "event_audit_event_id_fkey")):
        with pytest.raises(IntegrityError) as exc:
            with pg_engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {table}"))
        assert_refused(exc, constraint)
    with pg_engine.begin() as conn:
        conn.execute(text("TRUNCATE event, event_audit"))


def test_truncating_the_areas_under_events_is_refused(pg_engine):
    """TRUNCATE never leaves events on areas that are gone: alone, area's real foreign keys (staff…) refuse
    it; with CASCADE staff and through it event go too, and the trigger keeping event's audit rows refuses."""
    from sqlalchemy.exc import DBAPIError

    count = "SELECT (SELECT COUNT(*) FROM area), (SELECT COUNT(*) FROM event WHERE area_id IS NOT NULL)"
    with pg_engine.connect() as conn:
        before = conn.execute(text(count)).one()
    refusals = []
    for sql in ("TRUNCATE area", "TRUNCATE area CASCADE"):
        with pytest.raises(DBAPIError) as exc:
            with pg_engine.begin() as conn:
                conn.execute(text(sql))
        refusals.append(exc.value.orig.sqlstate)
    assert refusals == ["0A000", "23503"]  # "referenced in a foreign key constraint"; event_audit's check
    with pg_engine.connect() as conn:
        assert conn.execute(text(count)).one() == before and before[1] > 0


def test_removing_referenced_rows_needs_read_committed(pg_engine):
    area = add_area(pg_engine)  # referenced by nothing yet: a concurrent insert could still reference it
    with pytest.raises(NotSupportedError) as exc:
        with pg_engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            conn.execute(delete(Area).where(Area.id == area))
    assert exc.value.orig.sqlstate == "0A000"


def _second_waits_for_first(engine, first: str, second: str, params: dict):
    """Run `first` in a transaction left open, then `second` in another thread; return what `second` raised.

    `second` must be seen waiting for a lock before the first transaction commits."""
    outcome, pid = [], []

    def run_second():
        try:
            with engine.begin() as conn:
                pid.append(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
                conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
                conn.execute(text(second), params)
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    with engine.connect() as holder, engine.connect() as watcher:
        holder.execute(text(first), params)
        thread = threading.Thread(target=run_second)
        thread.start()
        waiting, deadline = False, time.monotonic() + 20
        while not waiting and not outcome and time.monotonic() < deadline:
            time.sleep(0.05)  # polling interval of this wait on pg_stat_activity (the condition decides)
            waiting = bool(pid) and watcher.execute(text(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :p"), {"p": pid[0]}).scalar()
            watcher.rollback()
        holder.commit()
        thread.join(30)
    assert waiting, f"the second transaction did not wait for the first one (it ended with {outcome})"
    return outcome[0]


def test_deleting_an_area_waits_for_an_open_insert_then_fails(pg_engine):
    area = add_area(pg_engine)
    row = event_row("REF-RACE", area_id=area)
    columns = ", ".join(row)
    error = _second_waits_for_first(pg_engine, f"INSERT INTO event ({columns}) VALUES (:{', :'.join(row)})",
                                    "DELETE FROM area WHERE id = :area_id", row)
    assert isinstance(error, IntegrityError), error
    assert error.orig.sqlstate == "23503" and error.orig.diag.constraint_name == "event_area_id_fkey"


def test_inserting_waits_for_an_open_delete_of_the_area_then_fails(pg_engine):
    area = add_area(pg_engine)
    row = event_row("REF-RACE", area_id=area)
    columns = ", ".join(row)
    error = _second_waits_for_first(pg_engine, "DELETE FROM area WHERE id = :area_id",
                                    f"INSERT INTO event ({columns}) VALUES (:{', :'.join(row)})", row)
    assert isinstance(error, IntegrityError), error
    assert error.orig.sqlstate == "23503" and error.orig.diag.constraint_name == "event_area_id_fkey"
