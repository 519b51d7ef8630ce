"""统一表单推送 for leaders: compose a short form, push it to an area's workers or premises, watch progress per
child area (live), export the answers. Scoped: areas and forms of the principal's scope only."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from dashboard.auth import covers, home_code, principal, requires
from dashboard.runtime import current
from governance.people import forms
from governance.models import CHILD_LEVEL
from governance.events.queries import area_by_code, areas_in
from governance.core.taxonomy import load_taxonomy
from governance.core.timeutil import format_local

dash.register_page(__name__, path="/forms", title="统一表单 · 网格驾驶舱", name="统一表单")
ACCESS = "push_forms"
ROWS = 6  # question rows of the composer (empty ones are skipped)
REFRESH_MS = 15_000


def _question_row(i: int) -> html.Div:
    safety_cats = [{"label": c.name, "value": c.code} for c in load_taxonomy().categories.values()
                   if c.family == "safety"]
    return html.Div(className="fq-row", children=[
        html.Span(f"{i + 1}.", className="fq-n"),
        dcc.Input(id={"type": "fq-text", "q": i}, type="text", maxLength=200, placeholder="题目（留空则忽略）",
                  className="fq-text"),
        dcc.Dropdown(id={"type": "fq-kind", "q": i}, value="yesno", clearable=False, className="fq-kind",
                     options=[{"label": v, "value": k} for k, v in forms.KINDS.items()]),
        dcc.Input(id={"type": "fq-options", "q": i}, type="text", maxLength=200, placeholder="单选项，用逗号分隔",
                  className="fq-options"),
        dcc.Checklist(id={"type": "fq-safety", "q": i}, options=[{"label": "安全项（“否”上报事件）", "value": "y"}],
                      value=[], className="fq-safety"),
        dcc.Dropdown(id={"type": "fq-cat", "q": i}, options=safety_cats, placeholder="上报类别", className="fq-cat"),
    ])


def _form_options() -> list[dict]:
    with current().engine.connect() as conn:
        rows = forms.forms_in(conn, principal().scope)
    return [{"label": f"{f['title']}（{format_local(f['created_at'], '%m-%d %H:%M')}）", "value": f["id"]} for f in rows]


def layout(**_query):
    """Composer (title, target, area, questions) and the progress view of a pushed form."""
    with current().engine.connect() as conn:
        focus = area_by_code(conn, home_code())
        subs = areas_in(conn, focus.path, CHILD_LEVEL[focus.level]) if focus.level in CHILD_LEVEL else []
    options = _form_options()
    return html.Div(className="page forms-page", children=[
        html.Header(className="page-header", children=[
            html.H1("统一表单推送"), dcc.Link("← 返回驾驶舱", href="/", className="back-link")]),
        html.P("编一张简短表单推送给辖区网格员（或每个经营场所一份），网格员在手机上填写，回答只记一次；"
               "安全项回答“否”自动进入事件池。", className="hint"),
        html.Section(className="forms-compose", children=[
            html.H2("编制并推送"),
            html.Div(className="filters", children=[
                dcc.Input(id="form-title", type="text", maxLength=60, placeholder="表单名称，如：燃气安全排查",
                          className="form-title"),
                dcc.Dropdown(id="form-area", value=focus.code, clearable=False, className="form-area",
                             options=[{"label": focus.name, "value": focus.code}]
                             + [{"label": a.name, "value": a.code} for a in subs]),
                dcc.RadioItems(id="form-target", value="workers", inline=True,
                               options=[{"label": v, "value": k} for k, v in forms.TARGETS.items()]),
            ]),
            html.Div([_question_row(i) for i in range(ROWS)], className="fq-list"),
            html.Button("推送表单", id="form-push", n_clicks=0, className="action-button primary"),
            html.Span(id="form-msg", className="hint"),
        ]),
        html.Section(className="forms-progress", children=[
            html.H2("填报进度"),
            html.Div(className="filters", children=[
                dcc.Dropdown(id="form-pick", options=options, value=options[0]["value"] if options else None,
                             clearable=False, placeholder="选择表单", className="form-pick"),
                html.Button("刷新", id="form-refresh", n_clicks=0, className="action-button"),
            ]),
            dcc.Interval(id="form-tick", interval=REFRESH_MS),
            html.Div(id="form-progress"),
        ]),
    ])


def _photos(items: list[tuple[str, int]]) -> list:
    """A photo answer's thumbnail, linking to the full photo (both scope-checked by the request guard)."""
    if not items:
        return []
    return [html.Div(className="form-photos", style={"display": "flex", "gap": "8px", "flexWrap": "wrap"}, children=[
        html.A(href=forms.photo_url(pid), target="_blank", className="form-photo", title=f"{text}（点击查看原图）",
               style={"display": "flex", "flexDirection": "column", "alignItems": "flex-start"},
               children=[html.Img(src=forms.photo_url(pid, thumb=True), alt=f"{text}（照片）",
                                  className="form-photo-thumb",
                                  style={"maxWidth": "160px", "maxHeight": "120px", "borderRadius": "4px"}),
                         html.Span(f"{text} · 查看原图", className="hint")])
        for text, pid in items])]


@callback(Output("form-msg", "children"), Output("form-pick", "options"), Output("form-pick", "value"),
          Input("form-push", "n_clicks"), State("form-title", "value"), State("form-area", "value"),
          State("form-target", "value"), State({"type": "fq-text", "q": ALL}, "value"),
          State({"type": "fq-kind", "q": ALL}, "value"), State({"type": "fq-options", "q": ALL}, "value"),
          State({"type": "fq-safety", "q": ALL}, "value"), State({"type": "fq-cat", "q": ALL}, "value"),
          prevent_initial_call=True)
@requires("push_forms")
def push(n, title, area, target, texts, kinds, opts, safety, cats):
    """Validate the composed form and push it to the chosen area (in scope); show it in the progress view."""
    if not n:
        return no_update, no_update, no_update
    rt = current()
    with rt.engine.begin() as conn:
        target_area = area_by_code(conn, area or "")
        if target_area is None or not covers(target_area.path):
            return "该区域不在您的权限范围内", no_update, no_update
        rows = [dict(text=t, kind=k, options=o, safety=bool(s), category=c)
                for t, k, o, s, c in zip(texts, kinds, opts, safety, cats)]
        try:
            fid, count = forms.push_form(conn, title or "", forms.validate_questions(rows), target or "",
                                         target_area.path, principal().name, rt.now())
        except forms.FormError as exc:
            return str(exc), no_update, no_update
    return f"已推送到 {target_area.name}：{count} 份", _form_options(), fid


@callback(Output("form-progress", "children"), Input("form-pick", "value"), Input("form-refresh", "n_clicks"),
          Input("form-tick", "n_intervals"))
@requires("push_forms")
def show_progress(form_id, _n, _tick):
    """Answered / assigned per child area, the latest answers, and the export links of the chosen form."""
    if not isinstance(form_id, int) or isinstance(form_id, bool):
        return html.P("还没有推送过表单", className="hint")
    with current().engine.connect() as conn:
        rows = forms.progress(conn, form_id)
        recent = forms.recent_answers(conn, form_id)
    return [
        html.Table(className="data-table form-progress-table", children=[
            html.Thead(html.Tr([html.Th(h) for h in ("区域", "已填", "应填", "完成率")])),
            html.Tbody([html.Tr([html.Td(r["name"]), html.Td(r["answered"]), html.Td(r["assigned"]),
                                 html.Td(f"{100 * r['answered'] / r['assigned']:.0f}%")],
                                **{"data-area": r["code"] or "total"}) for r in rows])]),
        html.P([html.A("导出 CSV（留痕）", href=f"/api/v1/forms/{form_id}/answers.csv", className="link-button form-csv"),
                " · ", html.A("导出 Excel（留痕）", href=f"/api/v1/forms/{form_id}/answers.xlsx",
                             className="link-button form-xlsx")]),
        html.H3(f"最新回答（{len(recent)}）"),
        html.Ul([html.Li([html.B(r["label"]), f" · {format_local(r['answered_at'], '%m-%d %H:%M')} · {r['summary']}",
                          f" · 已上报事件 {r['events']}" if r["events"] else "", *_photos(r["photos"])],
                         className="form-answer")
                 for r in recent], className="form-answers"),
    ]
