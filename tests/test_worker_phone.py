"""Issue #20, the worker's phone: task cards (address, map, dated deadline with 超期, earlier notes), camera
photos (checked, EXIF location stripped or kept, thumbnails, scope-checked, in the leader's detail and
exports), and the offline queue (待发送, sent once — a lost answer's retry never duplicates)."""
from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from PIL import Image
from sqlalchemy import func, select, text

from governance.events import photos
from governance.events.dispatch import DispatchError, add_progress, dispatch, suggest_assignees, worker_advance
from governance.models import Event, EventAudit, EventPhoto, WorkerRequest
from governance.events.task_links import grant
from governance.events.worker_actions import PhotoUpload, apply

from .conftest import WORLD_NOW, http_session, screenshot
from .photo_helpers import make_jpeg
from .test_dispatch_browser import push_gas_event

MAX = 2 << 20  # the test app's COCKPIT_PHOTO_MAX_MB (tests/conftest.py)


def _photo_dir() -> Path:
    from dashboard.runtime import current

    return Path(current().settings.photo_dir)


def _files(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


def _task(engine, key: str, offset: int, accept: bool = True, due=None) -> tuple[int, str, int]:
    """A 燃气 report dispatched to its best worker (accepted, with an earlier note); (event, token, staff)."""
    push_gas_event(engine, key, "过道堆放纸箱", offset, description="五楼过道堆满纸箱", address="幸福路 8 号 2 栋")
    with engine.begin() as conn:
        eid = conn.execute(select(Event.id).where(Event.source_key == key)).scalar()
        staff = suggest_assignees(conn, eid, WORLD_NOW)[0][0].staff_id
        token = dispatch(conn, eid, staff, "街道指挥中心", WORLD_NOW)
        if accept:
            worker_advance(conn, eid, staff, "handle", "网格员", WORLD_NOW)
            add_progress(conn, eid, "网格员", WORLD_NOW, "早先的说明：已通知物业")
        if due is not None:
            conn.execute(Event.__table__.update().where(Event.__table__.c.id == eid).values(due_at=due))
    return eid, token, staff


def _stored(engine, eid: int) -> tuple[int, int, int, int]:
    """(photos, phone requests, 处置进展 rows, 现场照片 rows) of an event."""
    with engine.connect() as conn:
        count = lambda q: conn.execute(select(func.count()).select_from(q.subquery())).scalar()  # noqa: E731
        return (count(select(EventPhoto.id).where(EventPhoto.event_id == eid)),
                count(select(WorkerRequest.request_id).where(WorkerRequest.event_id == eid)),
                count(select(EventAudit.id).where(EventAudit.event_id == eid, EventAudit.action == "处置进展")),
                count(select(EventAudit.id).where(EventAudit.event_id == eid, EventAudit.action == "现场照片")))


# --- governance: checks, location, idempotency -----------------------------------------------------------------

def test_photos_are_checked_by_type_content_and_size():
    jpeg = make_jpeg(gps=True)
    bad = [(b"", "image/jpeg", "没有收到照片"), (b"hello" * 50, "text/plain", "只能上传照片"),
           (b"hello" * 50, "image/jpeg", "不是有效的图片"), (jpeg, "image/png", "与图片类型不符"),
           (jpeg[: len(jpeg) // 2], "image/jpeg", "不是有效的图片"), (jpeg, "application/pdf", "只能上传照片")]
    for data, ctype, message in bad:
        with pytest.raises(photos.PhotoError, match=message):
            photos.check_photo(data, ctype, MAX)
    with pytest.raises(photos.PhotoError, match=rf"照片过大（{-(-len(jpeg) // 1024)} KB，上限 1 KB），未保存"):
        photos.check_photo(jpeg, "image/jpeg", 1024)

    stripped = photos.prepare(jpeg, "image/jpeg", MAX, keep_location=False)
    kept = photos.prepare(jpeg, "image/jpeg", MAX, keep_location=True)
    assert photos.has_location(Image.open(io.BytesIO(jpeg)))
    assert not photos.has_location(Image.open(io.BytesIO(stripped.data)))
    assert Image.open(io.BytesIO(stripped.data)).getexif().get(0x0110) == "TestPhone"  # other EXIF stays
    assert kept.data == jpeg and photos.has_location(Image.open(io.BytesIO(kept.data)))
    thumb = Image.open(io.BytesIO(stripped.thumb))
    assert thumb.format == "JPEG" and max(thumb.size) == 320 and (stripped.width, stripped.height) == (640, 480)
    png = io.BytesIO()
    Image.new("RGB", (50, 40), "red").save(png, "PNG")
    assert photos.prepare(png.getvalue(), "image/png", MAX, False).ext == "png"
    # a location held in XMP alone (no EXIF GPS) goes too
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="30,39.025N" '
           b'exif:GPSLongitude="104,3.033E"/></rdf:RDF></x:xmpmeta>')
    with_xmp = io.BytesIO()
    Image.open(io.BytesIO(make_jpeg())).save(with_xmp, "JPEG", xmp=xmp)
    assert b"GPSLatitude" in with_xmp.getvalue()
    assert b"GPSLatitude" not in photos.prepare(with_xmp.getvalue(), "image/jpeg", MAX, keep_location=False).data


def test_a_phone_request_applies_once_and_a_refused_one_stores_nothing(engine, tmp_path):
    tmp_path = tmp_path / "photos"
    eid, token, staff = _task(engine, "PH-GOV", 61)
    jpeg = make_jpeg()
    with engine.connect() as conn:
        held = grant(conn, token, WORLD_NOW)

    def send(rid, kind="progress", note="", photo=None):
        written = []
        try:
            with engine.begin() as conn:
                return apply(conn, rid, eid, kind, note, photo, held, WORLD_NOW, str(tmp_path), MAX, False, written)
        except Exception:
            photos.remove_files(tmp_path, written)
            raise

    first = send("req-gov-0001", note="现场拍照", photo=PhotoUpload(jpeg, "image/jpeg"))
    again = send("req-gov-0001", note="现场拍照", photo=PhotoUpload(jpeg, "image/jpeg"))
    assert first.message == "进展已记录（含照片）" and not first.duplicate and first.photo_id
    assert again.duplicate and again.message == first.message and again.photo_id is None
    assert _stored(engine, eid) == (1, 1, 2, 1) and len(_files(tmp_path)) == 2  # photo + thumbnail

    for rid, kind, photo, message in (
            ("req-gov-0002", "progress", PhotoUpload(b"GIF89a" + b"0" * 40, "image/jpeg"), "不是有效的图片"),
            ("req-gov-0003", "progress", PhotoUpload(b"x", "text/plain"), "只能上传照片"),
            ("req-gov-0004", "progress", None, "请填写处置说明或拍摄照片"),
            ("req-gov-0005", "closed", None, "只能签收、记录进展或提交结果"),
            ("bad id", "progress", None, "请求编号无效")):
        with pytest.raises((DispatchError, photos.PhotoError), match=message):
            send(rid, kind, photo=photo)
    assert _stored(engine, eid) == (1, 1, 2, 1) and len(_files(tmp_path)) == 2
    with pytest.raises(DispatchError, match="链接无效"):  # another event: not the link's
        with engine.begin() as conn:
            apply(conn, "req-gov-0006", eid + 1, "handle", "", None, held, WORLD_NOW, str(tmp_path), MAX, False, [])
    assert send("req-gov-0007", "feedback", note="已清理完毕").message == "已提交结果"


def test_the_demo_grid_worker_opens_to_open_tasks(engine, world_engine):
    from demo_world.demo_tasks import busiest_grid, give_open_tasks

    community = world_engine.accounts["communities"][0]
    with engine.connect() as conn:  # the demo account's grid: its community's grid with the most open events
        most = conn.execute(text(
            "SELECT g.code, COUNT(e.id) AS n FROM area g JOIN area c ON c.code = :c AND g.path LIKE c.path || '%' "
            "LEFT JOIN event e ON e.area_path LIKE g.path || '%' AND e.status IN ('collect','discover','assign','handle') "
            "AND NOT e.is_drill WHERE g.level = 'general_grid' GROUP BY g.code ORDER BY n DESC, g.code LIMIT 1"),
            {"c": community}).one()
        assert busiest_grid(conn, community).code == most.code and most.n >= 3

    with engine.begin() as conn:  # the demo account's staff: the first of the first community's first grid
        staff = conn.execute(text("SELECT s.id FROM user_account u JOIN staff s ON s.id = u.staff_id "
                                  "WHERE u.username = 'gridworker'")).scalar()
        given = give_open_tasks(conn, staff, WORLD_NOW)
        rows = conn.execute(select(Event.id, Event.status).where(Event.assignee_staff_id == staff,
                                                                 Event.status.in_(("assign", "handle")))).all()
        notes = conn.execute(select(func.count()).select_from(EventAudit).where(
            EventAudit.event_id == given[0], EventAudit.action == "处置进展")).scalar()
    assert len(given) == 3 and set(given) <= {r.id for r in rows}
    assert sorted(r.status for r in rows if r.id in given) == ["assign", "assign", "handle"] and notes == 1


def test_the_migration_upgrades_and_downgrades(empty_engine):
    from alembic import command
    from sqlalchemy import inspect

    from governance.core.db import alembic_config, migrate

    assert {"event_photo", "worker_request"} <= set(inspect(empty_engine).get_table_names())
    cfg = alembic_config(empty_engine)
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013")
    assert not {"event_photo", "worker_request"} & set(inspect(empty_engine).get_table_names())
    migrate(empty_engine)
    assert "request_id" in {c["name"] for c in inspect(empty_engine).get_columns("worker_request")}


# --- over HTTP: the queue's route, the photo route, the export ---------------------------------------------------

def test_the_action_and_photo_routes_over_http(world_engine, live_server):
    eid, token, _ = _task(world_engine, "PH-HTTP", 62)
    anonymous = requests.Session()

    def post(rid, photo=None, kind="progress", note="现场照片", credential=token, client=anonymous):
        return client.post(live_server + "/api/v1/worker/actions", headers={
                               "X-Task-Credential": credential, "X-Request-Id": rid, "X-Event-Id": str(eid)},
                           data={"request_id": rid, "event_id": str(eid), "kind": kind, "note": note},
                           files={"photo": photo} if photo else None, timeout=60)

    directory = _photo_dir()
    first = post("ph-http-0001", ("scene.jpg", make_jpeg(gps=True), "image/jpeg"))
    again = post("ph-http-0001", ("scene.jpg", make_jpeg(gps=True), "image/jpeg"))
    assert first.status_code == 200 and first.json()["message"] == "进展已记录（含照片）" and not first.json()["duplicate"]
    assert again.status_code == 200 and again.json()["duplicate"]
    assert _stored(world_engine, eid) == (1, 1, 2, 1)
    before = _files(directory)
    big = make_jpeg(1800, 1400, noise=True)
    assert len(big) > MAX
    for photo, status, message in ((("note.txt", b"hello", "text/plain"), 422, "只能上传照片"),
                                   (("fake.jpg", b"hello" * 20, "image/jpeg"), 422, "文件不是有效的图片，未保存"),
                                   (("a.png", make_jpeg(), "image/png"), 422, "与图片类型不符"),
                                   (("big.jpg", big, "image/jpeg"), 413, "照片过大（上限 2 MB），未保存")):
        resp = post(f"ph-http-bad-{status}-{len(photo[1])}", photo)
        assert resp.status_code == status and message in resp.json()["error"], resp.text
    assert _files(directory) == before and _stored(world_engine, eid) == (1, 1, 2, 1)  # nothing stored
    forged = post("ph-http-0002", None, "handle", credential="forged-credential-0123456789")
    assert forged.status_code == 422 and "链接无效" in forged.json()["error"]
    mine = post("ph-http-0003", None, "progress", credential="mine", client=http_session(world_engine, live_server,
                                                                                            "gridworker"))
    assert mine.status_code == 422 and "链接无效" in mine.json()["error"]  # not the signed-in worker's task

    with world_engine.connect() as conn:
        photo_id, name = conn.execute(select(EventPhoto.id, EventPhoto.file_name).where(EventPhoto.event_id == eid)).one()
    stored = (directory / name).read_bytes()
    assert not photos.has_location(Image.open(io.BytesIO(stored)))  # COCKPIT_PHOTO_KEEP_LOCATION=0
    leader = http_session(world_engine, live_server, "leader")
    full = leader.get(live_server + photos.url(photo_id))
    thumb = leader.get(live_server + photos.url(photo_id, thumb=True))
    assert full.status_code == 200 and full.content == stored and full.headers["Content-Type"] == "image/jpeg"
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) == 320
    with world_engine.connect() as conn:
        path = conn.execute(select(Event.area_path).where(Event.id == eid)).scalar()
    b = world_engine.accounts["communities"][1]
    foreign = "community" if f"/{b}/" in path else "community_b"  # a community account whose scope lacks it
    assert http_session(world_engine, live_server, foreign).get(live_server + photos.url(photo_id)).status_code == 404
    assert anonymous.get(live_server + photos.url(photo_id)).status_code == 401
    csv = leader.get(live_server + f"/api/v1/events.csv?area={world_engine.accounts['focus']}&q=PH-HTTP")
    header, row = csv.text.lstrip("\ufeff").splitlines()[:2]
    assert header.endswith(",现场照片") and row.endswith(f"{live_server}/api/v1/photos/{photo_id}")

    # 提交结果 ends what the link grants: a resend of it (its answer was lost) still gets its answer
    done, resent = post("ph-http-fb-01", None, "feedback", "已清理"), post("ph-http-fb-01", None, "feedback", "已清理")
    assert done.status_code == 200 and done.json() == {**done.json(), "message": "已提交结果", "duplicate": False}
    assert resent.status_code == 200 and resent.json()["duplicate"] and resent.json()["message"] == "已提交结果"
    other = post("ph-http-fb-02", None, "feedback", "已清理")
    assert other.status_code == 422 and "链接无效" in other.json()["error"]
    with world_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EventAudit).where(
            EventAudit.event_id == eid, EventAudit.action == "提交结果")).scalar() == 1


# --- in the browser, at phone size --------------------------------------------------------------------------------



@pytest.mark.browser
def test_a_photo_taken_offline_is_queued_and_arrives_once(world_engine, live_server, page_factory):
    due = WORLD_NOW - timedelta(days=3, hours=2)
    eid, token, _ = _task(world_engine, "PH-OFFLINE", 63, due=due)
    page = page_factory(375, 812, user=None)
    ctx = page.context
    page.goto(live_server + "/worker/" + token)
    page.wait_for_selector("section.task .task-map.leaflet-container canvas")
    card = page.inner_text("section.task")
    assert "幸福路 8 号 2 栋" in card and "时限 2026-11-17 10:00" in card  # 2026-11-17 02:00 UTC
    assert page.inner_text(".task-state .overdue-badge") == "超期 3 天"
    assert "早先的说明：已通知物业" in page.inner_text(".task-notes")
    assert page.get_attribute("input.w-photo-input", "accept") == "image/*"
    assert page.get_attribute("input.w-photo-input", "capture") == "environment"
    screenshot(page, "worker-phone-task")

    ctx.set_offline(True)
    page.fill("textarea.w-note", "已清理过道杂物")
    page.set_input_files("input.w-photo-input", files=[{"name": "scene.jpg", "mimeType": "image/jpeg",
                                                        "buffer": make_jpeg(gps=True)}])
    page.wait_for_selector("img.w-preview:not([hidden])")
    page.click("button.w-act[data-kind=progress]")
    page.wait_for_selector("#w-queue-bar.pending")
    assert page.inner_text("#w-queue-bar").startswith("待发送 1 条")
    assert "已保存在手机上" in page.inner_text(".task-wrap .dispatch-msg")
    screenshot(page, "worker-phone-offline")
    assert _stored(world_engine, eid) == (0, 0, 1, 0)  # nothing has left the phone

    calls, errors = [], []

    def lose_the_first_answer(route):
        calls.append(route.request.url)
        if len(calls) > 1:
            return route.continue_()
        try:
            route.fetch()   # the server applies it …
        except Exception as exc:  # noqa: BLE001 (shown by the assertion below)
            errors.append(repr(exc))
        route.fulfill(status=502, body="")  # … and the answer is lost on the way back: the phone keeps it

    page.route("**/api/v1/worker/actions", lose_the_first_answer)
    ctx.set_offline(False)
    page.wait_for_function("() => window.navigator.onLine")
    for _ in range(100):
        if calls and _stored(world_engine, eid)[0]:
            break
        page.wait_for_timeout(100)
    assert errors == [] and len(calls) == 1
    assert _stored(world_engine, eid) == (1, 1, 2, 1)
    assert page.inner_text("#w-queue-bar").startswith("待发送 1 条")
    ctx.set_offline(True)   # the next time the phone finds signal it sends again, under the same request id
    ctx.set_offline(False)
    page.wait_for_selector("#w-queue-bar.clear")
    page.wait_for_selector("text=进展已记录（含照片）")
    assert len(calls) == 2 and _stored(world_engine, eid) == (1, 1, 2, 1)  # applied once
    page.wait_for_selector("text=已清理过道杂物")  # the card was redrawn: the note is in its earlier notes
    screenshot(page, "worker-phone-sent")

    leader = page_factory(1366, 900)
    leader.goto(live_server + "/events?q=PH-OFFLINE")
    leader.wait_for_function("document.querySelector('#events-total')?.innerText === '共 1 件'")
    leader.click("#events-table tbody tr:nth-child(2) td:nth-child(4)")
    leader.wait_for_selector(".detail-photos img")
    leader.wait_for_function("() => { const i = document.querySelector('.detail-photos img');"
                             " return i && i.complete && i.naturalWidth === 320; }")
    with world_engine.connect() as conn:
        photo_id = conn.execute(select(EventPhoto.id).where(EventPhoto.event_id == eid)).scalar()
    assert leader.get_attribute(".detail-photos a", "href") == photos.url(photo_id)
    assert "现场照片" in leader.inner_text(".event-card")
    screenshot(leader, "leader-detail-photo")


@pytest.mark.browser
def test_a_non_image_or_oversized_file_is_refused_in_chinese_and_nothing_stored(world_engine, live_server,
                                                                                   page_factory):
    eid, token, _ = _task(world_engine, "PH-BAD", 64)
    page = page_factory(375, 812, user=None)
    page.goto(live_server + "/worker/" + token)
    page.wait_for_selector("input.w-photo-input", state="attached")
    before = _files(_photo_dir())
    page.set_input_files("input.w-photo-input", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                                        "buffer": b"hello"}])
    page.wait_for_selector("text=只能上传照片（JPEG、PNG 或 WebP 图片），该文件未保存")
    page.set_input_files("input.w-photo-input", files=[{"name": "big.jpg", "mimeType": "image/jpeg",
                                                        "buffer": b"\xff" * (3 << 20)}])
    page.wait_for_selector("text=照片过大（3 MB，上限 2 MB），未保存")
    assert page.locator("img.w-preview:not([hidden])").count() == 0
    # A file that calls itself a JPEG but is not one: the phone cannot tell, the server's check refuses it.
    page.set_input_files("input.w-photo-input", files=[{"name": "fake.jpg", "mimeType": "image/jpeg",
                                                        "buffer": b"not an image " * 100}])
    page.fill("textarea.w-note", "过道纸箱已清走")
    page.click("button.w-act[data-kind=progress]")
    page.wait_for_selector("text=文件不是有效的图片，未保存")
    page.wait_for_function("() => document.querySelector('textarea.w-note').value === '过道纸箱已清走'")  # kept
    page.wait_for_selector("#w-queue-bar.clear")
    screenshot(page, "worker-phone-bad-file")
    assert _stored(world_engine, eid) == (0, 0, 1, 0) and _files(_photo_dir()) == before


@pytest.mark.browser
def test_a_signed_in_worker_acts_from_my_tasks_through_the_queue(world_engine, live_server, page_factory):
    """/worker/mine: the session (and its CSRF header) is the credential of the phone's queue."""
    from data_sources.base import RawRecord
    from data_sources.pipeline import ingest_records
    from data_sources.push import PushSource

    with world_engine.connect() as conn:
        staff = conn.execute(text("SELECT s.id FROM user_account u JOIN staff s ON s.id = u.staff_id "
                                  "WHERE u.username = 'gridworker'")).scalar()
        lon, lat = conn.execute(text("SELECT a.centroid_lon, a.centroid_lat FROM area a JOIN area g ON g.code = :g "
                                     "WHERE a.level = 'micro_grid' AND a.path LIKE g.path || '%' ORDER BY a.id "
                                     "LIMIT 1"), {"g": world_engine.accounts["grid"]}).one()
    ingest_records(world_engine, PushSource(), [RawRecord(
        {"source_key": "PH-MINE", "category": "燃气隐患", "title": "单元门口燃气味", "lon": lon, "lat": lat,
         "reported_at": (WORLD_NOW - timedelta(minutes=20)).isoformat() + "+00:00"}, "")], now=WORLD_NOW)
    with world_engine.begin() as conn:
        eid = conn.execute(select(Event.id).where(Event.source_key == "PH-MINE")).scalar()
        dispatch(conn, eid, staff, "街道指挥中心", WORLD_NOW)
    page = page_factory(375, 812, user="gridworker")
    page.goto(live_server + "/worker/mine")
    page.click(f"button.w-act[data-event='{eid}'][data-kind=handle]")
    page.wait_for_selector("text=已签收")
    page.wait_for_selector(f"button.w-act[data-event='{eid}'][data-kind=feedback]")
    with world_engine.connect() as conn:
        assert conn.execute(select(Event.status).where(Event.id == eid)).scalar() == "handle"
        assert conn.execute(select(WorkerRequest.kind, WorkerRequest.staff_id).where(
            WorkerRequest.event_id == eid)).all() == [("handle", staff)]
