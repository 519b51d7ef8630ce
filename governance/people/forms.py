"""统一表单推送: a leader's short form as validated data, pushed to an area's workers (one assignment per worker,
or per 经营场所), answered once (a resend changes nothing), progress per child area, answers for export.

A "no" on a safety yes/no question names a taxonomy category; data_sources/form_events.py raises that
event through the usual intake (governance never imports the pipeline). A photo answer is the id of a
`form_photo` of that very assignment and question, stored in the same transaction as the answers (checked and
written by governance.events.photos in the web layer; a refused submission rolls the row back and the caller
deletes the files).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from ..accounts.accounts import log_access
from ..core.bulk_rows import insert_rows
from ..models import FormAssignment, FormPhoto, FormPush
from ..models import Area, Staff
from ..models import Place
from ..core.scope import subtree
from ..core.taxonomy import load_taxonomy
from .visits import WORKER_ROLES, _worker_for, _workers

KINDS = {"yesno": "是/否", "choice": "单选", "number": "数字", "text": "文字", "photo": "照片"}
TARGETS = {"workers": "每位网格员一份", "premises": "每个经营场所一份"}
YES, NO = "是", "否"
MAX_QUESTIONS = 20
PHOTO_URL = "/api/v1/form-photos/"  # dashboard/form_routes.py serves them, scope-checked


class FormError(ValueError):
    """A form or an answer that cannot be accepted; the message is shown as is (Chinese)."""


@dataclass(frozen=True)
class Question:
    """One question: its key, kind, text, choices, and for yes/no whether a "no" raises an event."""

    key: str
    kind: str
    text: str
    options: tuple[str, ...] = ()
    safety: bool = False
    category: str | None = None

    def as_dict(self) -> dict:
        """The question as stored (JSON)."""
        return {"key": self.key, "kind": self.kind, "text": self.text, "options": list(self.options),
                "safety": self.safety, "category": self.category}


def validate_questions(raw: list[dict]) -> list[Question]:
    """Questions from a composer's rows (empty texts skipped); FormError naming the first fault."""
    cats = load_taxonomy().categories
    out: list[Question] = []
    for n, row in enumerate(raw or [], 1):
        text = str((row or {}).get("text") or "").strip()
        if not text:
            continue
        kind = str(row.get("kind") or "")
        if kind not in KINDS:
            raise FormError(f"第 {n} 题题型无效：{kind or '未选择'}")
        if len(text) > 200:
            raise FormError(f"第 {n} 题题目过长（最多 200 字）")
        options = row.get("options") or ()
        if isinstance(options, str):
            options = [o for o in (s.strip() for s in options.replace("，", ",").split(",")) if o]
        options = tuple(str(o)[:40] for o in options)
        if kind == "choice" and len(options) < 2:
            raise FormError(f"第 {n} 题为单选题，至少需要两个选项（用逗号分隔）")
        safety = bool(row.get("safety")) and kind == "yesno"
        category = str(row.get("category") or "") or None
        if safety and category not in cats:
            raise FormError(f"第 {n} 题为安全问题，请选择“否”时上报的事件类别")
        out.append(Question(f"q{len(out) + 1}", kind, text, options if kind == "choice" else (), safety,
                            category if safety else None))
    if not out:
        raise FormError("表单至少需要一道题")
    if len(out) > MAX_QUESTIONS:
        raise FormError(f"表单最多 {MAX_QUESTIONS} 道题")
    return out


def questions_of(stored: str) -> list[Question]:
    """The questions of a form from their stored JSON."""
    return [Question(q["key"], q["kind"], q["text"], tuple(q.get("options") or ()), bool(q.get("safety")),
                     q.get("category")) for q in json.loads(stored)]


def _targets(conn: Connection, target: str, path: str) -> list[dict]:
    """One row per assignment to make: every worker of the area's micro-grids, or every active premises."""
    if target == "workers":
        rows = conn.execute(select(Staff.id, Staff.name, Area.path).join(Area, Area.id == Staff.area_id).where(
            Staff.role.in_(WORKER_ROLES), subtree(Area.path, path)).order_by(Area.path, Staff.id)).all()
        return [{"staff_id": sid, "place_id": None, "label": name, "area_path": p} for sid, name, p in rows]
    workers = _workers(conn)
    rows = conn.execute(select(Place.id, Place.name, Place.address, Place.area_path).where(
        Place.kind == "premises", Place.status == "active", Place.area_path.isnot(None),
        subtree(Place.area_path, path)).order_by(Place.area_path, Place.id)).all()
    return [{"staff_id": _worker_for(workers, p), "place_id": pid, "label": f"{name} · {addr}"[:200],
             "area_path": p} for pid, name, addr, p in rows]


def push_form(conn: Connection, title: str, questions: list[Question], target: str, area_path: str,
              actor: str, now: datetime, due_at: datetime | None = None) -> tuple[int, int]:
    """Store a form and one assignment per target in the area; logged. Return (form id, assignments)."""
    title = (title or "").strip()
    if not title or len(title) > 60:
        raise FormError("请填写表单名称（最多 60 字）")
    if target not in TARGETS:
        raise FormError("请选择推送对象")
    if not questions:
        raise FormError("表单至少需要一道题")
    rows = _targets(conn, target, area_path)
    if not rows:
        raise FormError("该区域没有可推送的对象（无网格员或无经营场所）")
    form_id = conn.execute(FormPush.__table__.insert().values(
        title=title, questions=json.dumps([q.as_dict() for q in questions], ensure_ascii=False), target=target,
        area_path=area_path, created_by=actor[:60], created_at=now, due_at=due_at)
        .returning(FormPush.id)).scalar_one()
    insert_rows(conn, FormAssignment.__table__, [
        {**r, "form_id": form_id, "answered_at": None, "answered_by": None, "answers": None, "event_ids": None}
        for r in rows])
    log_access(conn, actor, "form_push", now, target=f"form:{form_id}", detail=f"{title} @ {area_path} × {len(rows)}")
    return form_id, len(rows)


def open_assignments(conn: Connection, staff_id: int) -> list[dict]:
    """A worker's unanswered assignments with their form's questions, oldest form first."""
    rows = conn.execute(select(FormAssignment.id, FormAssignment.label, FormPush.title, FormPush.due_at,
                               FormPush.questions).join(FormPush, FormPush.id == FormAssignment.form_id)
                        .where(FormAssignment.staff_id == staff_id, FormAssignment.answered_at.is_(None))
                        .order_by(FormPush.created_at, FormAssignment.id)).all()
    return [{"id": r.id, "title": r.title, "label": r.label, "due_at": r.due_at, "questions": questions_of(r.questions)}
            for r in rows]


def clean_answers(questions: list[Question], raw: dict, photo_ids: dict[str, set[int]] | None = None) -> dict:
    """Answers checked against the questions (every question answered); FormError naming the first fault.

    A photo answer must be the id of a photo uploaded for that assignment and question (`photo_ids`)."""
    out = {}
    for n, q in enumerate(questions, 1):
        value = raw.get(q.key)
        value = value.strip() if isinstance(value, str) else value
        if value in (None, "", []):
            raise FormError(f"请回答第 {n} 题：{q.text}")
        if q.kind == "yesno" and value not in (YES, NO):
            raise FormError(f"第 {n} 题请选择“是”或“否”")
        if q.kind == "choice" and value not in q.options:
            raise FormError(f"第 {n} 题的选项无效")
        if q.kind == "number":
            try:
                value = float(str(value).replace(",", ""))
            except ValueError:
                raise FormError(f"第 {n} 题请填写数字") from None
            value = int(value) if value.is_integer() else value
        if q.kind == "text":
            value = str(value)[:1000]
        if q.kind == "photo":
            pid = value if isinstance(value, int) and not isinstance(value, bool) else (
                int(value) if isinstance(value, str) and value.isdigit() and len(value) < 12 else None)
            if pid is None or pid not in (photo_ids or {}).get(q.key, set()):
                raise FormError(f"第 {n} 题请拍照上传照片（只接受在本表单上传的照片）")
            value = pid
        out[q.key] = value
    return out


def record_photo(conn: Connection, assignment_id: int, question: str, staff_id: int, actor: str, now: datetime,
                 photo, names: tuple[str, str]) -> int:
    """Insert the row of a photo answer (`photo`: a governance.events.photos.Prepared, `names`: its stored files)."""
    return conn.execute(insert(FormPhoto).returning(FormPhoto.id), [{
        "assignment_id": assignment_id, "question": question[:8], "staff_id": staff_id, "file_name": names[0],
        "thumb_name": names[1], "content_type": photo.content_type, "size_bytes": len(photo.data),
        "width": photo.width, "height": photo.height, "sha256": hashlib.sha256(photo.data).hexdigest(),
        "kept_location": photo.kept_location, "uploaded_at": now, "uploaded_by": actor[:60]}]).scalar_one()


def _photo_ids(conn: Connection, assignment_id: int, staff_id: int) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for pid, q in conn.execute(select(FormPhoto.id, FormPhoto.question).where(
            FormPhoto.assignment_id == assignment_id, FormPhoto.staff_id == staff_id)):
        out.setdefault(q, set()).add(pid)
    return out


def submit(conn: Connection, assignment_id: int, staff_id: int, raw: dict, actor: str,
           now: datetime, photos=()) -> tuple[bool, list[dict]]:
    """Store a worker's answers once. (stored now?, safety "no" items to raise as events — only when stored now).

    `photos`: (question key, prepared photo, stored names) of the photos sent with the answers; each becomes a
    `form_photo` row of this assignment and the answer to its question. A resend, or an assignment that is not
    this worker's, stores nothing and raises nothing (the caller deletes the files it wrote).
    """
    a = conn.execute(select(FormAssignment.staff_id, FormAssignment.label, FormAssignment.area_path,
                            FormAssignment.answered_at, FormPush.title, FormPush.questions)
                     .join(FormPush, FormPush.id == FormAssignment.form_id)
                     .where(FormAssignment.id == assignment_id)).first()
    if a is None or a.staff_id != staff_id:
        raise FormError("表单不存在或不是分派给你的")
    if a.answered_at is not None:
        return False, []
    questions = questions_of(a.questions)
    kinds = {q.key: q.kind for q in questions}
    raw, new = dict(raw), []
    for key, photo, names in photos:
        if kinds.get(key) != "photo":
            raise FormError("照片不属于本表单的照片题")
        raw[key] = record_photo(conn, assignment_id, key, staff_id, actor, now, photo, names)
        new.append(raw[key])
    answers = clean_answers(questions, raw, _photo_ids(conn, assignment_id, staff_id))
    done = conn.execute(update(FormAssignment).where(FormAssignment.id == assignment_id,
                                                     FormAssignment.answered_at.is_(None))
                        .values(answered_at=now, answered_by=actor[:60],
                                answers=json.dumps(answers, ensure_ascii=False))
                        .execution_options(synchronize_session=False)).rowcount
    if not done:  # answered by a twin request a moment ago: this one's photos are not kept
        if new:
            conn.execute(delete(FormPhoto).where(FormPhoto.id.in_(new)))
        return False, []
    log_access(conn, actor, "form_answer", now, target=f"form_assignment:{assignment_id}", detail=a.title)
    raise_items = [{"assignment_id": assignment_id, "question": q.key, "category": q.category,
                    "title": f"{a.title}：{q.text}"[:100], "label": a.label, "area_path": a.area_path,
                    "description": f"统一表单“{a.title}”中“{q.text}”回答为“否”。对象：{a.label}"}
                   for q in questions if q.safety and answers.get(q.key) == NO]
    return True, raise_items


def link_events(conn: Connection, assignment_id: int, event_ids: list[int]) -> None:
    """Remember the events raised from an assignment's answers."""
    conn.execute(update(FormAssignment).where(FormAssignment.id == assignment_id)
                 .values(event_ids=",".join(map(str, event_ids)) or None).execution_options(synchronize_session=False))


def forms_in(conn: Connection, scope: tuple[str, ...]) -> list[dict]:
    """Forms pushed inside a principal's scope, newest first."""
    out = []
    for root in scope:
        out += [dict(r._mapping) for r in conn.execute(
            select(FormPush.id, FormPush.title, FormPush.created_at, FormPush.area_path)
            .where(subtree(FormPush.area_path, root)))]
    return sorted({f["id"]: f for f in out}.values(), key=lambda f: (f["created_at"], f["id"]), reverse=True)


def progress(conn: Connection, form_id: int) -> list[dict]:
    """Answered / assigned per child area of the area the form was pushed to (then a total row)."""
    form_path = conn.execute(select(FormPush.area_path).where(FormPush.id == form_id)).scalar_one()
    parent = conn.execute(select(Area.id).where(Area.path == form_path)).scalar_one()
    children = conn.execute(select(Area.code, Area.name, Area.path).where(Area.parent_id == parent)
                            .order_by(Area.path)).all()
    counts = conn.execute(select(FormAssignment.area_path, func.count(), func.count(FormAssignment.answered_at))
                          .where(FormAssignment.form_id == form_id).group_by(FormAssignment.area_path)).all()
    rows = []
    for code, name, path in children:
        assigned = sum(n for p, n, _ in counts if p.startswith(path))
        if assigned:
            rows.append({"code": code, "name": name, "assigned": assigned,
                         "answered": sum(d for p, _, d in counts if p.startswith(path))})
    total = sum(n for _, n, _ in counts)
    rows.append({"code": "", "name": "合计", "assigned": total, "answered": sum(d for _, _, d in counts)})
    return rows


def photo_url(photo_id: int, thumb: bool = False) -> str:
    """The scope-checked address of a form photo (or its thumbnail)."""
    return f"{PHOTO_URL}{photo_id}" + ("?thumb=1" if thumb else "")


def _cell(q: Question, value, link):
    """An answer as exported: a photo answer as the address of the photo."""
    if q.kind == "photo" and isinstance(value, int) and not isinstance(value, bool):
        return link(value)
    return value


def answer_rows(conn: Connection, form_id: int, link=photo_url) -> tuple[list[str], list[list]]:
    """(header, rows) of a form's assignments and answers, for the export (a photo as `link(photo id)`)."""
    questions = questions_of(conn.execute(select(FormPush.questions).where(FormPush.id == form_id)).scalar_one())
    header = ["对象", "网格路径", "网格员", "回答时间", "回答人", *[q.text for q in questions], "上报事件"]
    names = dict(conn.execute(select(Staff.id, Staff.name)).all())
    rows = []
    for a in conn.execute(select(*FormAssignment.__table__.c).where(FormAssignment.form_id == form_id)
                          .order_by(FormAssignment.area_path, FormAssignment.id)):
        answers = json.loads(a.answers) if a.answers else {}
        rows.append([a.label, a.area_path, names.get(a.staff_id, "（无网格员）"),
                     a.answered_at.isoformat(sep=" ", timespec="minutes") if a.answered_at else "",
                     a.answered_by or "", *[_cell(q, answers.get(q.key, ""), link) for q in questions], a.event_ids or ""])
    return header, rows


def recent_answers(conn: Connection, form_id: int, limit: int = 20) -> list[dict]:
    """The latest answered assignments of a form, with answers keyed by question text and their photos as
    (question text, form photo id) (progress view)."""
    questions = questions_of(conn.execute(select(FormPush.questions).where(FormPush.id == form_id)).scalar_one())
    rows = conn.execute(select(FormAssignment.label, FormAssignment.answered_at, FormAssignment.answered_by,
                               FormAssignment.answers, FormAssignment.event_ids)
                        .where(FormAssignment.form_id == form_id, FormAssignment.answered_at.isnot(None))
                        .order_by(FormAssignment.answered_at.desc(), FormAssignment.id.desc()).limit(limit)).all()
    out = []
    for r in rows:
        answers = json.loads(r.answers)
        out.append({"label": r.label, "answered_at": r.answered_at, "answered_by": r.answered_by,
                    "photos": [(q.text, answers[q.key]) for q in questions if q.kind == "photo"
                               and isinstance(answers.get(q.key), int) and not isinstance(answers[q.key], bool)],
                    "summary": "；".join(f"{q.text}：{'已拍照' if q.kind == 'photo' else answers.get(q.key, '')}"
                                        for q in questions), "events": r.event_ids or ""})
    return out


def stored_photo(conn: Connection, photo_id: int, thumb: bool = False) -> tuple[str, str] | None:
    """(relative file name, content type) of a form photo or its thumbnail, or None."""
    row = conn.execute(select(FormPhoto.file_name, FormPhoto.thumb_name, FormPhoto.content_type)
                       .where(FormPhoto.id == photo_id)).first()
    if row is None:
        return None
    return (row.thumb_name, "image/jpeg") if thumb else (row.file_name, row.content_type)
