"""统一表单 photo answers (#19): a photo answer is a photo uploaded with the answers (checked and stored by
governance.events.photos) and recorded as a `form_photo` of that very assignment and question; a string that
is not such a photo, another assignment's photo, or a photo for a non-photo question is refused in Chinese and
nothing is stored; the export names the photo by its address. SQLite and `--db postgresql`."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data_sources.form_events import submit_answers
from governance.events import photos
from governance.models import Area, FormAssignment, FormPhoto
from governance.people import forms

from .conftest import WORLD_NOW
from .photo_helpers import make_jpeg

ROWS = [{"text": "是否整改", "kind": "yesno"}, {"text": "现场照片", "kind": "photo"}]
LATER = WORLD_NOW + timedelta(hours=1)


def _push(engine, world_engine) -> tuple[int, list]:
    with engine.begin() as conn:
        path = conn.execute(select(Area.path).where(Area.code == world_engine.accounts["community"])).scalar_one()
        fid, _ = forms.push_form(conn, "整改照片", forms.validate_questions(ROWS), "workers", path, "leader", WORLD_NOW)
        rows = conn.execute(select(FormAssignment.id, FormAssignment.staff_id).where(
            FormAssignment.form_id == fid).order_by(FormAssignment.id).limit(2)).all()
    return fid, rows


def _photo(directory: Path, gps: bool = False):
    prepared = photos.prepare(make_jpeg(gps=gps), "image/jpeg", 10 * 1024 * 1024, keep_location=False)
    return prepared, photos.write_files(directory, prepared, LATER)


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(FormPhoto)).scalar_one()


def test_a_photo_answer_must_be_a_photo_of_that_assignment(engine, world_engine, tmp_path):
    fid, (a1, a2) = _push(engine, world_engine)
    base = _count(engine)
    for forged in ("202612/0123abcd.jpg", "https://example.com/x.jpg", "已拍照", "99999999"):
        with pytest.raises(forms.FormError, match="第 2 题请拍照上传照片"):
            submit_answers(engine, a1.id, a1.staff_id, {"q1": "是", "q2": forged}, "w", LATER)
    # a photo for a yes/no question is refused, and its row is rolled back
    prepared, names = _photo(tmp_path)
    with pytest.raises(forms.FormError, match="照片不属于本表单的照片题"):
        submit_answers(engine, a1.id, a1.staff_id, {"q2": ""}, "w", LATER, photos=[("q1", prepared, names)])
    assert _count(engine) == base
    # a2's own photo, stored with a2's answers …
    p2, n2 = _photo(tmp_path, gps=True)
    assert submit_answers(engine, a2.id, a2.staff_id, {"q1": "是"}, "w2", LATER, photos=[("q2", p2, n2)]) == (True, [])
    with engine.connect() as conn:
        own = conn.execute(select(FormPhoto).where(FormPhoto.assignment_id == a2.id)).one()
        answers = json.loads(conn.execute(select(FormAssignment.answers).where(FormAssignment.id == a2.id)).scalar())
    assert answers == {"q1": "是", "q2": own.id} and own.question == "q2" and own.staff_id == a2.staff_id
    assert own.file_name == n2[0] and (tmp_path / own.file_name).is_file() and not own.kept_location
    assert not photos.has_location(photos.check_photo((tmp_path / own.file_name).read_bytes(), "image/jpeg", 10**8))
    # … is no answer for a1, named by its id as a number or a string
    for other in (own.id, str(own.id)):
        with pytest.raises(forms.FormError, match="第 2 题请拍照上传照片"):
            submit_answers(engine, a1.id, a1.staff_id, {"q1": "是", "q2": other}, "w", LATER)
    with engine.connect() as conn:
        assert conn.execute(select(FormAssignment.answered_at).where(FormAssignment.id == a1.id)).scalar() is None
    assert _count(engine) == base + 1
    # a resend of an answered assignment records no photo
    p3, n3 = _photo(tmp_path)
    assert submit_answers(engine, a2.id, a2.staff_id, {"q1": "否"}, "w2", LATER, photos=[("q2", p3, n3)]) == (False, [])
    assert _count(engine) == base + 1
    # the export names the photo by its (scope-checked) address
    with engine.connect() as conn:
        header, rows = forms.answer_rows(conn, fid, link=lambda pid: f"http://cockpit{forms.photo_url(pid)}")
        recent = forms.recent_answers(conn, fid)
    assert header[6] == "现场照片"
    assert [r[6] for r in rows if r[4] == "w2"] == [f"http://cockpit/api/v1/form-photos/{own.id}"]
    assert recent[0]["photos"] == [("现场照片", own.id)] and "现场照片：已拍照" in recent[0]["summary"]
    with engine.connect() as conn:
        assert forms.stored_photo(conn, own.id) == (n2[0], "image/jpeg")
        assert forms.stored_photo(conn, own.id, thumb=True) == (n2[1], "image/jpeg")
        assert forms.stored_photo(conn, own.id + 10**6) is None
