"""统一表单推送 logic on a controlled clock: a push makes one assignment per target (counted independently in SQL),
answers are stored once (a resend changes nothing), a safety "no" raises exactly one located, audited event,
bad input is refused in Chinese, progress per child area and the export rows add up."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from data_sources.form_events import source_key, submit_answers
from governance.people import forms
from governance.models import FormAssignment
from governance.models import AccessLog, Area, Event, Intake

from .conftest import WORLD_NOW

ROWS = [{"text": "是否使用燃气", "kind": "yesno"},
        {"text": "燃气软管是否在有效期内", "kind": "yesno", "safety": True, "category": "1102"},
        {"text": "灭火器数量", "kind": "number"},
        {"text": "经营类型", "kind": "choice", "options": "餐饮，小超市, 其他"},
        {"text": "备注", "kind": "text"}, {"text": "", "kind": "photo"}]


def _community(conn, code):
    return conn.execute(select(Area.path).where(Area.code == code)).scalar()


def _answers(safe: str) -> dict:
    return {"q1": "是", "q2": safe, "q3": "2", "q4": "餐饮", "q5": "无"}


def test_validation_refuses_bad_forms_in_chinese():
    qs = forms.validate_questions(ROWS)
    assert [q.kind for q in qs] == ["yesno", "yesno", "number", "choice", "text"]  # the empty row is skipped
    assert qs[1].safety and qs[1].category == "1102" and qs[3].options == ("餐饮", "小超市", "其他")
    for rows, msg in [([], "至少需要一道题"), ([{"text": "x", "kind": "essay"}], "题型无效"),
                      ([{"text": "x", "kind": "choice", "options": "甲"}], "至少需要两个选项"),
                      ([{"text": "x", "kind": "yesno", "safety": True, "category": "9999"}], "事件类别")]:
        with pytest.raises(forms.FormError, match=msg):
            forms.validate_questions(rows)


@pytest.mark.parametrize("target", ["workers", "premises"])
def test_push_makes_one_assignment_per_target(engine, world_engine, target):
    comm = world_engine.accounts["community"]
    with engine.begin() as conn:
        path = _community(conn, comm)
        fid, n = forms.push_form(conn, "燃气安全排查", forms.validate_questions(ROWS), target, path, "leader", WORLD_NOW)
        like = {"p": path + "%"}
        expected = conn.execute(text(
            "SELECT COUNT(*) FROM staff s JOIN area a ON a.id = s.area_id WHERE a.path LIKE :p "
            "AND s.role IN ('micro_grid_worker', 'grid_worker')" if target == "workers" else
            "SELECT COUNT(*) FROM place WHERE kind = 'premises' AND status = 'active' AND area_path LIKE :p"),
            like).scalar()
        made = conn.execute(select(func.count()).select_from(FormAssignment).where(FormAssignment.form_id == fid)).scalar()
        logged = conn.execute(select(AccessLog.detail).where(AccessLog.action == "form_push")).scalars().all()
    assert expected > 0 and n == made == expected
    assert any(f"× {n}" in d for d in logged)


def test_answers_once_and_safety_no_raises_exactly_one_event(engine, world_engine):
    comm = world_engine.accounts["community"]
    with engine.begin() as conn:
        fid, _ = forms.push_form(conn, "燃气安全排查", forms.validate_questions(ROWS), "premises",
                                 _community(conn, comm), "leader", WORLD_NOW)
        a1, a2 = conn.execute(select(FormAssignment.id, FormAssignment.staff_id, FormAssignment.area_path)
                              .where(FormAssignment.form_id == fid, FormAssignment.staff_id.isnot(None))
                              .order_by(FormAssignment.id).limit(2)).all()
        events_before = conn.execute(select(func.count()).select_from(Event)).scalar()
    later = WORLD_NOW + timedelta(hours=1)
    with pytest.raises(forms.FormError, match="第 3 题请填写数字"):
        submit_answers(engine, a1.id, a1.staff_id, {**_answers("否"), "q3": "两个"}, "w", later)
    with pytest.raises(forms.FormError, match="不是分派给你的"):
        submit_answers(engine, a1.id, a1.staff_id + 100000, _answers("否"), "w", later)
    stored, ids = submit_answers(engine, a1.id, a1.staff_id, _answers("否"), "w", later)
    assert stored and len(ids) == 1
    again = submit_answers(engine, a1.id, a1.staff_id, _answers("是"), "w", later + timedelta(minutes=5))
    assert again == (False, [])  # a resend stores and raises nothing
    assert submit_answers(engine, a2.id, a2.staff_id, _answers("是"), "w", later) == (True, [])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Event)).scalar() == events_before + 1
        ev = conn.execute(select(Event.source_key, Event.category_code, Event.area_path, Event.id).where(Event.id == ids[0])).one()
        row = conn.execute(select(*FormAssignment.__table__.c).where(FormAssignment.id == a1.id)).one()
        audited = conn.execute(select(Intake.actor).join(Event, Event.intake_id == Intake.id)
                               .where(Event.id == ev.id)).scalar()
        answered = conn.execute(select(AccessLog.target).where(AccessLog.action == "form_answer")).scalars().all()
    assert ev.source_key == source_key(a1.id, "q2") and ev.category_code == "1102"
    assert ev.area_path and ev.area_path.startswith(a1.area_path[: a1.area_path.rstrip("/").rfind("/") + 1])
    assert audited == "w"  # the intake batch names who raised it
    assert json.loads(row.answers) == {"q1": "是", "q2": "否", "q3": 2, "q4": "餐饮", "q5": "无"}
    assert row.answered_at == later and row.event_ids == str(ev.id)  # the first answer stands
    assert sorted(answered) == sorted([f"form_assignment:{a1.id}", f"form_assignment:{a2.id}"])
    with engine.connect() as conn:
        prog = forms.progress(conn, fid)
        header, rows = forms.answer_rows(conn, fid)
    total = prog[-1]
    assert total["answered"] == 2 and total["assigned"] == len(rows)
    assert sum(r["answered"] for r in prog[:-1]) == 2 and sum(r["assigned"] for r in prog[:-1]) == total["assigned"]
    assert header[5] == "是否使用燃气" and sum(1 for r in rows if r[3]) == 2


def test_forms_in_scope(engine, world_engine):
    acc = world_engine.accounts
    with engine.begin() as conn:
        a, b = _community(conn, acc["community"]), _community(conn, acc["community_b"])
        fa, _ = forms.push_form(conn, "甲", forms.validate_questions(ROWS[:1]), "workers", a, "x", WORLD_NOW)
        fb, _ = forms.push_form(conn, "乙", forms.validate_questions(ROWS[:1]), "workers", b, "x", WORLD_NOW)
        mine = {fa, fb}  # the shared world may hold forms other tests pushed
        assert [f["id"] for f in forms.forms_in(conn, (a,)) if f["id"] in mine] == [fa]
        assert {f["id"] for f in forms.forms_in(conn, (a, b))} >= mine


def test_export_over_http_is_scoped_and_logged(world_engine, live_server):
    import csv
    import io

    from .conftest import http_session

    acc = world_engine.accounts
    with world_engine.begin() as conn:
        fid, n = forms.push_form(conn, "导出测试", forms.validate_questions(ROWS[:3]), "workers",
                                 _community(conn, acc["communities"][0]), "test", WORLD_NOW)
    url = f"{live_server}/api/v1/forms/{fid}/answers.csv"
    resp = http_session(world_engine, live_server, "community").get(url, timeout=60)
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0][5:8] == ["是否使用燃气", "燃气软管是否在有效期内", "灭火器数量"] and len(rows) == n + 1
    xlsx = http_session(world_engine, live_server, "leader").get(url.replace(".csv", ".xlsx"), timeout=60)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    for who in ("community_b", "gridworker", "viewer"):  # another community; roles that do not push forms
        assert http_session(world_engine, live_server, who).get(url, timeout=60).status_code in (403, 404)
    with world_engine.connect() as conn:
        logged = conn.execute(select(AccessLog.actor, AccessLog.detail).where(
            AccessLog.action == "form_export", AccessLog.target == f"form:{fid}")).all()
    assert sorted(a for a, _ in logged) == ["测试community", "测试leader"] and f"rows={n}" in logged[0][1]
