"""Bulk ingest: the overlapped page loop and the COPY path lose, duplicate and change nothing."""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from data_sources import upsert
from data_sources.base import FeedError, Page, RawRecord
from data_sources.cases import CasesSource
from data_sources.fields import parse_time
from data_sources.pipeline import ingest_pages
from governance.figures import rollups
from governance.models import Event
from governance.events.queries import event_detail
from governance.core.timeutil import SHANGHAI, to_utc_naive

from .conftest import WORLD_NOW
from .feed_helpers import grid_points, world_copy
from .test_rollups import from_scratch, stored
from .dash_tree import find_class as _find


@settings(max_examples=400, deadline=None)
@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
       st.one_of(st.none(), st.just(8 * 60), st.integers(-12 * 60, 14 * 60)), st.sampled_from("T "),
       st.booleans())
def test_parse_time_agrees_with_the_zone_database(when, offset_minutes, sep, fraction):
    """The fixed UTC+8 shortcuts (naive times from 1992, and "+08:00" stated) give exactly what
    zoneinfo gives."""
    when = when if fraction else when.replace(microsecond=0)
    if offset_minutes is None:
        text_value, expected = when.isoformat(sep), to_utc_naive(when.replace(tzinfo=SHANGHAI))
    else:
        aware = when.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
        text_value, expected = aware.isoformat(sep), to_utc_naive(aware)
    assert parse_time(text_value, "t") == expected


def _case(key, lon, lat, when: datetime, status="受理", type_code="ZS-0301"):
    local = when + timedelta(hours=8)
    return {"case_no": key, "channel": "12345", "type_code": type_code, "title": "群众诉求",
            "content": f"内容 {key}", "address": "", "lng": lon, "lat": lat, "status": status,
            "accept_time": local.strftime("%Y-%m-%d %H:%M:%S"),
            "updated_at": (local + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")}


def _pages(engine, n_pages=6, per_page=120, fail_after=None):
    """Pages of cases: new keys, keys of earlier pages again with a new status, malformed records,
    same-page repeats, and near-identical reports of one problem from two channels (duplicates)."""
    rng = random.Random(5)
    points = grid_points(engine, 30)
    pages, expected_keys, bad = [], set(), 0
    for p in range(n_pages):
        records = []
        for i in range(per_page):
            _, lon, lat = rng.choice(points)
            when = WORLD_NOW - timedelta(hours=rng.uniform(0, 24 * 30))
            roll = rng.random()
            if roll < 0.08:
                rec, bad = {"case_no": f"BAD-{p}-{i}", "status": "受理"}, bad + 1  # no category, no time
            elif roll < 0.2 and p:
                old = f"P{rng.randrange(p)}-{rng.randrange(per_page)}"
                rec = _case(old, lon, lat, when, status="办结")  # a later record of an earlier key
                if old not in expected_keys:  # that record was a malformed one: now it is new
                    expected_keys.add(old)
            else:
                key = f"P{p}-{i}"
                rec = _case(key, lon, lat, when)
                expected_keys.add(key)
            records.append(RawRecord(rec, "", rec["case_no"]))
        records.append(RawRecord(records[0].payload, "", records[0].key_hint))  # same page, same key
        bad += records[0].key_hint.startswith("BAD")
        pages.append(Page(records, f"cursor-{p}"))

    def gen():
        for p, page in enumerate(pages):
            if fail_after is not None and p == fail_after:
                raise FeedError("第 4 页读取失败")
            yield page
    return gen, pages, expected_keys, bad


def _counts(engine):
    with engine.connect() as conn:
        return {
            "events": conn.execute(text("SELECT COUNT(*) FROM event WHERE source='cases'")).scalar(),
            "keys": conn.execute(text("SELECT COUNT(DISTINCT source_key) FROM event WHERE source='cases'")).scalar(),
            "quarantined": conn.execute(text("SELECT COUNT(*) FROM quarantine")).scalar(),
            "audits": conn.execute(text("SELECT COUNT(*) FROM event_audit")).scalar(),
        }


@pytest.mark.parametrize("overlap", [True, False])
def test_pages_lose_and_duplicate_nothing(world_engine, tmp_path, overlap):
    engine = world_copy(world_engine, tmp_path)
    before = _counts(engine)
    gen, pages, expected_keys, bad = _pages(engine)
    source = CasesSource("http://unused")
    seen = []
    for page, stats in ingest_pages(engine, source, gen(), clock=lambda: WORLD_NOW, overlap=overlap):
        seen.append(page.cursor)
        assert stats.received == len(page.records) == stats.out + stats.quarantined
    assert seen == [p.cursor for p in pages]  # every page once, in order
    after = _counts(engine)
    assert after["events"] - before["events"] == len(expected_keys) == after["keys"] - before["keys"]
    assert after["quarantined"] - before["quarantined"] == bad
    with engine.connect() as conn:
        keys = set(conn.execute(text("SELECT source_key FROM event WHERE source_key LIKE 'P%'")).scalars())
        assert keys == expected_keys
        # every new event points at the intake batch that stored it, and the batches count exactly these
        per_event = conn.execute(text("SELECT i.id, i.actor, i.events FROM event e JOIN intake i "
                                      "ON i.id = e.intake_id WHERE e.source_key LIKE 'P%'")).all()
        assert len(per_event) == len(expected_keys)
        assert {actor for _, actor, _ in per_event} == {"cases"}
        assert Counter(i for i, _, _ in per_event) == {i: n for i, _, n in set(per_event)}
        # one row per changed field of the updated ones; the history starts with the state each arrived in
        closed = conn.execute(text("SELECT id FROM event WHERE source_key LIKE 'P%' "
                                   "AND source_status = '办结'")).scalars().all()
        histories = [event_detail(conn, eid)["history"] for eid in closed]
        assert all(h[0]["action"] == "接入" and h[0]["actor"] == "cases" for h in histories)
        arrived_closed = sum(h[0]["to_value"] == "closed" for h in histories)
        changed = conn.execute(text("SELECT COUNT(DISTINCT a.event_id) FROM event_audit a JOIN event e "
                                    "ON e.id = a.event_id WHERE e.source_key LIKE 'P%' "
                                    "AND a.action = '源系统更新' AND a.field = 'source_status'")).scalar()
        assert len(closed) == changed + arrived_closed and changed > 0 and arrived_closed > 0
    # the last page again changes nothing
    for _page, stats in ingest_pages(engine, source, iter(pages[-1:]), clock=lambda: WORLD_NOW, overlap=overlap):
        assert stats.inserted == stats.updated == 0
    again = _counts(engine)
    assert again["events"] == after["events"] and again["audits"] == after["audits"]
    # the dirty marks written with the events bring the rollups to a from-scratch count
    with engine.begin() as conn:
        rollups.flush(conn)
    with engine.connect() as conn:
        assert stored(conn) == from_scratch(conn)


def test_a_failing_page_keeps_every_page_before_it(world_engine, tmp_path):
    engine = world_copy(world_engine, tmp_path)
    gen, pages, _keys, _bad = _pages(engine, fail_after=3)
    seen = []
    with pytest.raises(FeedError):
        for page, _stats in ingest_pages(engine, CasesSource("http://unused"), gen(),
                                         clock=lambda: WORLD_NOW, overlap=True):
            seen.append(page.cursor)
    assert seen == ["cursor-0", "cursor-1", "cursor-2"]
    with engine.connect() as conn:
        stored_keys = set(conn.execute(text("SELECT source_key FROM event WHERE source_key LIKE 'P%'")).scalars())
    assert {k.split("-")[0] for k in stored_keys} == {"P0", "P1", "P2"}


def test_copy_path_stores_what_the_generic_path_stores(world_engine, tmp_path, monkeypatch):
    """Binary COPY (PostgreSQL) and plain INSERTs give identical events, links, audits and marks."""
    if world_engine.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    from data_sources.pipeline import ingest_records
    from data_sources.push import PushSource

    rng = random.Random(9)
    results = []
    for bulk in (True, False):
        engine = world_copy(world_engine, tmp_path)
        monkeypatch.setattr(upsert, "_copy_path", lambda conn, bulk=bulk: bulk)
        points = grid_points(engine, 10)
        rng.seed(9)
        recs = []
        for i in range(300):
            _, lon, lat = rng.choice(points)
            when = WORLD_NOW - timedelta(hours=rng.uniform(0, 48))
            rec = _case(f"X-{i % 250}", lon + rng.uniform(-1e-4, 1e-4), lat, when,
                        status=rng.choice(["受理", "办结"]), type_code=rng.choice(["ZS-0301", "CG-0202"]))
            recs.append(RawRecord(rec, "", rec["case_no"]))
        outside = _case("X-out", 121.47, 31.23, WORLD_NOW)  # outside every grid: kept, flagged
        recs.append(RawRecord(outside, "", "X-out"))
        ingest_records(engine, CasesSource("x"), recs[:150], now=WORLD_NOW)
        ingest_records(engine, CasesSource("x"), recs[150:], now=WORLD_NOW)
        # a second source reporting the same problems: linked to them as duplicates
        family = {"ZS-0301": "2101", "CG-0202": "0502"}
        pushed = [RawRecord({"source_key": f"PU-{i}", "category": family[r.payload["type_code"]],
                             "lon": r.payload["lng"], "lat": r.payload["lat"],
                             "reported_at": r.payload["accept_time"]}, "", f"PU-{i}")
                  for i, r in enumerate(recs[:40])]
        ingest_records(engine, PushSource(), pushed, now=WORLD_NOW)
        with engine.connect() as conn:
            cols = [c for c in Event.__table__.c if c.name not in ("id", "duplicate_of_id")]
            ids = dict(conn.execute(select(Event.id, Event.source_key)).all())
            events = sorted(tuple(r) + (ids.get(d),) for *r, d in conn.execute(
                select(*cols, Event.duplicate_of_id).where(Event.source_key.like("X-%") | Event.source_key.like("PU-%"))))
            audits = sorted(conn.execute(text(  # a duplicate link's target by its key, not its id
                "SELECT e.source_key, a.at, a.actor, a.action, a.field, a.from_value, CASE WHEN "
                "a.field = 'duplicate_of_id' THEN (SELECT o.source_key FROM event o WHERE "
                "CAST(o.id AS VARCHAR) = a.to_value) ELSE a.to_value END, a.note "
                "FROM event_audit a JOIN event e ON e.id = a.event_id "
                "WHERE e.source_key LIKE 'X-%' OR e.source_key LIKE 'PU-%'")).all())
            marks = sorted(set(conn.execute(text("SELECT area_path, day FROM rollup_dirty")).all()))
        results.append((events, audits, marks))
        engine.dispose()
    assert results[0] == results[1]
    assert any(e[-1] is not None for e in results[0][0])  # duplicates were linked


def test_a_fed_event_shows_its_intake_first_in_the_detail_panel(engine, monkeypatch):
    """The panel's history starts with 接入: the feed by its Chinese label, the state it arrived in."""
    from dashboard.components import event_detail as panel
    from dashboard.components import point_map
    from data_sources.pipeline import ingest_records
    from governance.core.access import Principal

    monkeypatch.setattr(point_map, "display_datum", lambda: "wgs84")
    monkeypatch.setattr(point_map, "to_display", lambda lon, lat: (lon, lat))
    (_, lon, lat), = grid_points(engine, 1)
    rec = _case("UI-1", lon, lat, WORLD_NOW - timedelta(hours=2))
    ingest_records(engine, CasesSource("http://unused"), [RawRecord(rec, "", "UI-1")], now=WORLD_NOW)
    later = _case("UI-1", lon, lat, WORLD_NOW - timedelta(hours=2), status="办结")
    ingest_records(engine, CasesSource("http://unused"), [RawRecord(later, "", "UI-1")], now=WORLD_NOW)
    with engine.connect() as conn:
        eid = conn.execute(text("SELECT id FROM event WHERE source_key = 'UI-1'")).scalar()
        detail = event_detail(conn, eid)
    children = panel.event_detail_view(detail, None, Principal(kind="user", role="leader", scope=("/",)),
                                       now=WORLD_NOW)
    items = _find(children, "detail-history")[0].children
    texts = [" ".join(str(span.children) for span in li.children) for li in items]
    assert texts[0].split()[1:] == ["接入", "状态：—", "→", "问题发现", "群众诉求"], texts[0]  # today: HH:MM
    assert "源系统更新" in texts[-1] and "已办结" in " ".join(texts)


