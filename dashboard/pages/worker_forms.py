"""统一表单 on a grid worker's phone: the signed-in worker's open form assignments, answered and submitted once.

Scope: only assignments whose worker is the signed-in person's staff record (governance.people.forms.submit
checks it again; the request guard checks the assignment id lies in the principal's area). A photo
question takes a camera photo, checked and stored like the phone page's (governance.events.photos) and recorded
as a `form_photo` of the assignment in the transaction of the answers; a refused submission deletes its files.
"""
from __future__ import annotations

import base64
import binascii

import dash
from dash import ALL, MATCH, Input, Output, State, callback, dcc, html, no_update

from dashboard.auth import principal, requires
from dashboard.runtime import current
from dashboard.worker_routes import max_photo_bytes
from data_sources.form_events import submit_answers
from governance.people import forms
from governance.events import photos
from governance.core.timeutil import format_local

# order: matched before the task page's /worker/<token> template (Dash tries ordered pages first)
dash.register_page(__name__, path="/worker/forms", title="统一表单 · 网格驾驶舱", name="统一表单", order=1)
ACCESS = "answer_forms"


def _input(aid: int, q: forms.Question):
    ident = {"type": "wf-ans", "a": aid, "q": q.key}
    if q.kind in ("yesno", "choice"):
        opts = [forms.YES, forms.NO] if q.kind == "yesno" else list(q.options)
        return dcc.RadioItems(id=ident, options=[{"label": o, "value": o} for o in opts], inline=True,
                              className="wf-radio")
    if q.kind == "number":
        return dcc.Input(id=ident, type="text", inputMode="decimal", placeholder="填写数字", className="wf-input")
    if q.kind == "text":
        return dcc.Textarea(id=ident, maxLength=1000, className="wf-input")
    return html.Div([dcc.Input(id=ident, type="hidden", value=""),
                     dcc.Upload(id={"type": "wf-photo", "a": aid, "q": q.key}, accept="image/*",
                                children=html.Button("拍照 / 选择照片", type="button", className="action-button"),
                                className="wf-photo")])


def _card(a: dict) -> html.Section:
    return html.Section(className="task wf-card", id={"type": "wf-card", "a": a["id"]}, children=[
        html.H2(a["title"]), html.P(a["label"], className="hint"),
        html.P(f"截止 {format_local(a['due_at'], '%m-%d %H:%M')}", className="hint") if a["due_at"] else None,
        *[html.Div(className="wf-q", children=[
            html.Label(f"{n}. {q.text}" + ("（安全项：选“否”将上报事件）" if q.safety else "")), _input(a["id"], q)])
          for n, q in enumerate(a["questions"], 1)],
        html.Button("提交", id={"type": "wf-submit", "a": a["id"]}, n_clicks=0, className="primary-button"),
        html.P(id={"type": "wf-msg", "a": a["id"]}, className="dispatch-msg"),
    ])


def layout(**_query):
    """The signed-in worker's open form assignments (none for a person without a staff record)."""
    staff_id = principal().staff_id
    if staff_id is None:
        return html.Div(className="page worker-page", children=[
            html.H1("统一表单"), html.P("当前账号未关联网格员，没有分派的表单", className="hint")])
    with current().engine.connect() as conn:
        open_ = forms.open_assignments(conn, staff_id)
    return html.Div(className="page worker-page wf-page", children=[
        html.H1(f"统一表单（待填 {len(open_)}）"),
        dcc.Link("← 我的任务", href="/worker/mine", className="back-link"),
        *[_card(a) for a in open_],
        html.P("暂无待填表单", className="hint") if not open_ else None,
    ])


def _prepare(contents: str):
    """Check an uploaded photo (as the phone page's: type, content, size; location stripped) without storing it."""
    head, _, b64 = contents.partition(",")
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise forms.FormError("照片数据无效") from None
    try:
        return photos.prepare(data, head[5:].split(";")[0], max_photo_bytes(), current().settings.photo_keep_location)
    except photos.PhotoError as exc:
        raise forms.FormError(str(exc)) from None


def store(aid: int, staff_id: int, actor: str, answers: dict, uploads: dict) -> tuple[bool, list[int]]:
    """Check the uploaded photos, write their files, store the answers with them once (and raise the safety
    events); the files are deleted again when nothing was stored (refused, or answered before)."""
    rt = current()
    directory, now, written = rt.settings.photo_dir, rt.now(), []
    try:
        prepared = [(q, _prepare(c)) for q, c in uploads.items() if c]  # all checked before any file is written
        sent = []
        for q, photo in prepared:
            names = photos.write_files(directory, photo, now)
            written += names
            sent.append((q, photo, names))
        stored, events = submit_answers(rt.engine, aid, staff_id, answers, actor, now, photos=sent)
    except BaseException:
        photos.remove_files(directory, written)
        raise
    if not stored:
        photos.remove_files(directory, written)
    return stored, events


@callback(Output({"type": "wf-msg", "a": MATCH}, "children"),
          Input({"type": "wf-submit", "a": MATCH}, "n_clicks"),
          State({"type": "wf-ans", "a": MATCH, "q": ALL}, "value"),
          State({"type": "wf-photo", "a": MATCH, "q": ALL}, "contents"),
          prevent_initial_call=True)
@requires("answer_forms")
def submit_form(n, values, photo_contents):
    """Submit one assignment's answers once; a safety "no" raises its event into the pool."""
    aid = (dash.ctx.triggered_id or {}).get("a")
    p = principal()
    if not n or not isinstance(aid, int) or p.staff_id is None:
        return no_update
    states = dash.ctx.states_list
    answers = {s["id"]["q"]: s.get("value") for s in states[0]}
    try:
        stored, events = store(aid, p.staff_id, p.name, answers, {s["id"]["q"]: s.get("value") for s in states[1]})
    except forms.FormError as exc:
        return str(exc)
    if not stored:
        return "已提交过，本次未重复记录"
    return "已提交" + (f"，已上报 {len(events)} 条安全隐患事件" if events else "")
