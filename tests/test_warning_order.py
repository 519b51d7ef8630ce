"""Issue #18: the warnings panel shows what needs action now — red before orange, newest first, with its age."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, text

from governance.models import Event
from governance.events.queries import events_by_ids
from governance.alerts.warning_eval import evaluate_scope
from governance.alerts.warnings import RANK, load_rules

from .conftest import WORLD_NOW
from .dash_tree import find_class as _find

NOW = datetime(2026, 11, 20, 4, 0)


def _row(eid, minutes_ago, due_days_ago=None, category="占道经营", **kw):
    reported = NOW - timedelta(minutes=minutes_ago)
    due = NOW - timedelta(days=due_days_ago) if due_days_ago is not None else reported + timedelta(hours=24)
    return {"id": eid, "title": f"标题{eid}", "category": category, "severity": 1, "status": "handle",
            "reported_at": reported, "due_at": due, "lon": 104.0, "lat": 30.6, **kw}


def test_red_before_orange_then_the_most_recent_first():
    from dashboard.components.panels import sort_warned_events

    rows = [_row(1, 60 * 24 * 400, due_days_ago=395), _row(2, 60 * 24 * 30, due_days_ago=27),
            _row(3, 1, category="燃气隐患"), _row(4, 5), _row(5, 60 * 24 * 2, raised_at=NOW - timedelta(minutes=3))]
    warned = {1: ("red", ["超期两倍以上"]), 2: ("red", ["超期"]), 3: ("red", ["紧急"]), 4: ("orange", ["重复"]),
              5: ("red", ["严重事件已超期"])}
    order = [r["id"] for r in sort_warned_events(warned, rows)]
    # 3: reported a minute ago; 5: reported two days ago but its warning was raised three minutes ago;
    # then the older red ones, newest first; orange after every red one, however recent.
    assert order == [3, 5, 2, 1, 4]


def test_the_panel_shows_each_event_s_age():
    from dashboard.components.panels import format_age, sort_warned_events, warnings_panel

    assert [format_age(NOW - d, NOW) for d in (timedelta(seconds=20), timedelta(minutes=7), timedelta(hours=5),
                                                timedelta(days=12))] == ["刚刚", "7 分钟前", "5 小时前", "12 天前"]
    rows = [_row(1, 60 * 24 * 12, due_days_ago=11), _row(2, 2, category="燃气隐患")]
    panel = warnings_panel(sort_warned_events({1: ("red", ["超期"]), 2: ("red", ["紧急"])}, rows), [], now=NOW)
    # the server sends when (stable through the day); the browser turns data-at into 2 分钟前 / 12 天前
    ages = [_find(li, "warn-age")[0] for li in panel]
    stamps = [int(getattr(a, "data-at")) for a in ages]
    assert [NOW.replace(tzinfo=timezone.utc).timestamp() * 1000 - ms for ms in stamps] == [2 * 60_000, 12 * 86_400_000]
    later = warnings_panel(sort_warned_events({1: ("red", ["超期"]), 2: ("red", ["紧急"])}, rows), [],
                           now=NOW + timedelta(minutes=1))
    assert [_find(li, "warn-age")[0].children for li in later] == [a.children for a in ages]
    assert _find(panel[0], "warn-title")[0].children.startswith("燃气隐患")


def test_a_gas_leak_reported_a_minute_ago_tops_the_panel_of_a_real_world(engine):
    from dashboard.components.panels import sort_warned_events, warnings_panel

    rules = load_rules()
    with engine.connect() as conn:
        sub = conn.execute(text("SELECT path FROM area WHERE level='subdistrict' ORDER BY id LIMIT 1")).scalar()
        area_id, path = conn.execute(text("SELECT id, path FROM area WHERE level='micro_grid' AND path LIKE :p "
                                          "ORDER BY id LIMIT 1"), {"p": sub + "%"}).one()
        before = evaluate_scope(conn, sub, WORLD_NOW, rules)
    assert any(lv in ("red", "orange") for lv, _ in before.events.values()), "older warnings to rank against"
    reported = WORLD_NOW - timedelta(minutes=1)
    with engine.begin() as conn:
        gas_id = conn.execute(insert(Event).values(
            source="push", source_key="GAS-NOW", category_code="1101", title="燃气隐患｜楼道闻到燃气味",
            area_id=area_id, area_path=path, severity=4, status="collect", reported_at=reported,
            updated_at=reported, due_at=reported + timedelta(hours=2), lon=104.0, lat=30.6)).inserted_primary_key[0]
    with engine.connect() as conn:
        warned = evaluate_scope(conn, sub, WORLD_NOW, rules)
        ids = warned.most_urgent(60)
        rows = sort_warned_events(warned.events, events_by_ids(conn, ids))
    assert ids[0] == gas_id and rows[0]["id"] == gas_id
    # the list picked is the most severe, then the most recently reported of all warned events
    picked = [(-RANK[warned.events[i][0]], -warned.event_reported[i].timestamp()) for i in ids]
    others = [(-RANK[lv], -warned.event_reported[i].timestamp()) for i, (lv, _) in warned.events.items()
              if lv in ("red", "orange") and i not in ids]
    assert picked == sorted(picked) and (not others or max(picked) <= min(others))
    panel = warnings_panel(rows, [], now=WORLD_NOW)
    assert getattr(_find(panel[0], "warn-title")[0], "data-event") == str(gas_id)
    assert int(getattr(_find(panel[0], "warn-age")[0], "data-at")) == int(reported.replace(tzinfo=timezone.utc).timestamp() * 1000)
    levels = [r["level"] for r in rows]
    assert levels == sorted(levels, key=lambda lv: lv != "red"), "red before orange"
    red = [r["reported_at"] for r in rows if r["level"] == "red"]
    assert red == sorted(red, reverse=True), "the most recently reported first"
