"""Feed simulator for the demo: serves each source's dialect on localhost and keeps producing.

New citizen cases, grid events, Open311 requests, safety files and rider pushes appear every few
seconds, and open ones move through their statuses, so the cockpit visibly changes while it runs.
"""
from __future__ import annotations

import csv
import io
import logging
import math
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import requests
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from governance.core.geo import wgs84_to_gcj02
from governance.core.taxonomy import load_taxonomy
from governance.core.timeutil import to_local, utcnow

from .base import mappings
from .fields import parse_time
from .locate import locator_for

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1)  # naive-UTC epoch: 大联动 counts milliseconds from it
_NAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高")
# A street's normal day (~110 new records, the seeded history's pace), per source, and its hourly shape.
DAILY_NEW = {"cases": 45, "grid_events": 38, "open311": 6, "safety": 10, "sheets": 6, "riders": 5}
HOURS = [1, 1, 0, 0, 0, 1, 2, 5, 9, 11, 11, 9, 7, 8, 9, 9, 8, 7, 7, 8, 8, 6, 4, 2]
STEP_HOURS = 6.0      # mean time an open record waits for its next status step
TICK_SECONDS = 4.0
# What riders (流动微网格员) see on their rounds, not only broken kerbs.
RIDER_REPORTS = [("0503", "路沿石损坏", "送餐途中发现路沿石松动。"), ("0502", "车辆乱停乱放", "非机动车堵住小区出入口。"),
                 ("0102", "暴露垃圾", "路边垃圾堆放未清运。"), ("0505", "路灯损坏", "夜间路段路灯不亮。"),
                 ("0504", "井盖缺失", "人行道井盖缺失，有安全隐患。"), ("1201", "消防通道堵塞", "小区消防通道被占用。"),
                 ("0501", "占道经营", "流动摊贩占道经营。")]


class FeedSimulator:
    """In-memory upstream systems that grow over time; deterministic for a seed."""

    def __init__(self, engine, drop_folder: Path, seed: int = 1, cockpit_url: str | None = None,
                 push_token: str | None = None, clock=utcnow):
        self.rng = np.random.default_rng(seed)
        self.clock = clock
        self.drop = Path(drop_folder)
        self.drop.mkdir(parents=True, exist_ok=True)
        self.cockpit_url, self.push_token = cockpit_url, push_token
        loc = locator_for(engine)
        self.grids = loc.geoms
        self.lock = threading.Lock()
        self.cases: dict[str, dict] = {}
        self.dld: dict[str, dict] = {}
        self.o311: dict[str, dict] = {}
        self.sheet: dict[str, dict] = {}  # a street office's spreadsheet export (街道台账)
        self.seq = 0
        self.ticks = 0
        self.last: datetime | None = None
        m = mappings()
        self.case_codes = list(m["cases"]["categories"])
        cats = load_taxonomy().categories  # 12345 deadlines per category: a gas leak is hours, a dog days
        self.case_sla = {code: cats[cat].sla for code, cat in m["cases"]["categories"].items()}
        self.dld_codes = list(m["grid_events"]["categories"])
        self.o311_codes = list(m["open311"]["categories"])
        self.safety_kinds = list(m["safety"]["categories"])
        self.sheet_columns = m["street_sheets"]["columns"]
        self.sheet_kinds = list(m["street_sheets"]["categories"])

    # ---- generation -------------------------------------------------------------------------
    def _point(self) -> tuple[float, float]:
        g = self.grids[int(self.rng.integers(len(self.grids)))]
        p = g.representative_point()
        return float(p.x), float(p.y)

    def _next(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}{to_local(self.clock()):%Y%m%d}{self.seq:05d}-{int(self.rng.integers(1e6)):06d}"

    def tick(self) -> None:
        """Produce new records and status changes for the time since the last tick, at a street's pace.

        New records follow a street's normal day (DAILY_NEW per source, spread over the hours by
        HOURS): ~110 a day, few at night — not one every few seconds. Open records move on with a
        mean of STEP_HOURS per status step. The first tick counts as TICK_SECONDS.
        """
        now = self.clock()
        local = to_local(now)
        seconds = TICK_SECONDS if self.last is None else max(0.0, (now - self.last).total_seconds())
        self.last = now
        hour_share = HOURS[local.hour] / sum(HOURS)
        n = {kind: int(self.rng.poisson(daily * hour_share * seconds / 3600)) for kind, daily in DAILY_NEW.items()}
        with self.lock:
            self.ticks += 1
            for _ in range(n["cases"]):
                self._new_case(now, local)
            for _ in range(n["grid_events"]):
                self._new_dld(now)
            for _ in range(n["open311"]):
                self._new_o311(now, local)
            self._advance(now, local, 1 - math.exp(-seconds / (STEP_HOURS * 3600)))
            for _ in range(n["sheets"]):
                self._sheet_rows(local)
        if n["safety"]:
            self._write_safety_file(local, n["safety"])
        for _ in range(n["riders"]):
            self._push_rider_report(now)

    def _new_case(self, now, local):
        lon, lat = self._point()
        key = self._next("SQ")
        channel = "12345" if self.rng.random() < 0.6 else "蓉e报"
        type_code = self.case_codes[int(self.rng.integers(len(self.case_codes)))]
        self.cases[key] = {
            "case_no": key, "channel": channel, "type_code": type_code,
            "title": "群众来电反映", "content": "居民反映有关问题，请属地网格核实处理。",
            "address": "", "lng": round(lon, 6), "lat": round(lat, 6), "status": "受理",
            "accept_time": local.strftime("%Y-%m-%d %H:%M:%S"), "updated_at": local.isoformat(),
            "deadline": (local + self.case_sla[type_code]).strftime("%Y-%m-%d %H:%M:%S"),
            "satisfaction": None, "citizen": {"name": _NAMES[int(self.rng.integers(20))] + "先生",
                                              "phone": "19900" + f"{int(self.rng.integers(1e6)):06d}"}}

    def _new_dld(self, now):
        lon, lat = self._point()
        g_lon, g_lat = wgs84_to_gcj02(lon, lat)
        key = self._next("DLD")
        ms = int((now - _EPOCH).total_seconds() * 1000)
        self.dld[key] = {"eventId": key, "gridCode": f"G{int(self.rng.integers(1, 99)):02d}",
                         "eventType": self.dld_codes[int(self.rng.integers(len(self.dld_codes)))],
                         "eventTypeName": "网格巡查发现", "eventDesc": "网格员巡查发现问题，已拍照上报。",
                         "location": {"x": round(float(g_lon), 6), "y": round(float(g_lat), 6),
                                      "coordType": "gcj02"},
                         "addr": "", "reportTime": ms, "updateTime": ms, "state": 1}

    def _new_o311(self, now, local):
        lon, lat = self._point()
        key = self._next("O311-")
        stamp = local.isoformat()
        self.o311[key] = {"service_request_id": key, "status": "open", "status_notes": None,
                          "service_code": self.o311_codes[int(self.rng.integers(len(self.o311_codes)))],
                          "service_name": "市民报事", "description": "通过开放接口提交的报事。",
                          "agency_responsible": "街道综治中心", "requested_datetime": stamp,
                          "updated_datetime": stamp, "expected_datetime": (local + timedelta(days=2)).isoformat(),
                          "address": "", "lat": round(lat, 6), "long": round(lon, 6)}

    def _advance(self, now, local, p: float = 0.08):
        order = ["受理", "转办", "办理中", "办结", "回访"]
        for rec in list(self.cases.values())[-200:]:
            if rec["status"] != "回访" and self.rng.random() < p:
                rec["status"] = order[order.index(rec["status"]) + 1]
                rec["updated_at"] = local.isoformat()
                if rec["status"] == "办结":
                    rec["finish_time"] = local.strftime("%Y-%m-%d %H:%M:%S")
                if rec["status"] == "回访":
                    rec["satisfaction"] = ["满意", "满意", "基本满意", "不满意"][int(self.rng.integers(4))]
        ms = int((now - _EPOCH).total_seconds() * 1000)
        for rec in list(self.dld.values())[-200:]:
            if rec["state"] < 6 and self.rng.random() < p:
                rec["state"] += 1
                rec["updateTime"] = ms
        for rec in list(self.o311.values())[-100:]:
            if rec["status"] == "open" and self.rng.random() < p * 0.6:
                rec["status"], rec["status_notes"] = "closed", "已处理完毕"
                rec["updated_datetime"] = local.isoformat()

    def _write_safety_file(self, local, count: int = 1):
        rows = []
        for _ in range(count):
            lon, lat = self._point()
            self.seq += 1
            rows.append({"隐患编号": f"AQ{local:%Y%m%d%H%M}{self.seq:04d}",
                         "排查时间": local.strftime("%Y-%m-%d %H:%M:%S"),
                         "隐患类别": self.safety_kinds[int(self.rng.integers(len(self.safety_kinds)))],
                         "隐患描述": "排查发现隐患，已告知住户限期整改。", "地址": "",
                         "经度": f"{lon:.6f}", "纬度": f"{lat:.6f}",
                         "隐患等级": ["一般隐患", "一般隐患", "较大隐患"][int(self.rng.integers(3))],
                         "整改期限": (local + timedelta(days=3)).strftime("%Y-%m-%d"),
                         "整改状态": "未整改", "排查人": "安全员"})
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        tmp = self.drop / f".{local:%Y%m%d%H%M%S}.tmp"
        tmp.write_bytes(buf.getvalue().encode("gbk"))  # such systems export GBK
        tmp.rename(self.drop / f"inspection-{local:%Y%m%d%H%M%S}.csv")

    def _sheet_rows(self, local):
        """A new row in the street office's sheet, and one earlier row moved on (its 更新时间 with it)."""
        c = self.sheet_columns
        lon, lat = self._point()
        key = self._next("JD")
        stamp = local.strftime("%Y-%m-%d %H:%M:%S")
        self.sheet[key] = {c["key"]: key, c["category"]: self.sheet_kinds[int(self.rng.integers(len(self.sheet_kinds)))],
                           c["title"]: "", c["description"]: "街道巡查登记，请属地网格核实处理。", c["address"]: "",
                           c["lon"]: f"{lon:.6f}", c["lat"]: f"{lat:.6f}", c["reported_at"]: stamp,
                           c["cursor"]: stamp, c["status"]: "待处理", c["due_at"]: "", c["reporter"]: "街道巡查员",
                           c["phone"]: ""}
        open_rows = [r for r in self.sheet.values() if r[c["status"]] != "已办结" and r[c["key"]] != key]
        if open_rows:
            row = open_rows[int(self.rng.integers(len(open_rows)))]
            row[c["status"]] = "处理中" if row[c["status"]] == "待处理" else "已办结"
            row[c["cursor"]] = stamp

    def _push_rider_report(self, now):
        if not (self.cockpit_url and self.push_token):
            return
        lon, lat = self._point()
        self.seq += 1
        code, what, desc = RIDER_REPORTS[int(self.rng.integers(len(RIDER_REPORTS)))]
        body = {"source_key": f"RIDER-{self.seq:06d}-{int(self.rng.integers(1e6))}", "category": code,
                "title": f"骑手上报：{what}", "description": desc,
                "lon": lon, "lat": lat, "datum": "wgs84", "channel": "流动微网格员"}
        try:
            requests.post(f"{self.cockpit_url}/api/v1/events", json=body, timeout=5,
                          headers={"Authorization": f"Bearer {self.push_token}"})
        except requests.RequestException as exc:
            log.warning("rider push failed: %s", exc)

    # ---- serving ----------------------------------------------------------------------------
    def wsgi(self) -> Flask:
        """The upstream systems' HTTP APIs, each in its own dialect."""
        app = Flask("feed-simulator")

        @app.get("/cases/api/cases")
        def cases():
            since = request.args.get("updated_since")
            page, size = int(request.args.get("page", 1)), int(request.args.get("page_size", 100))
            with self.lock:
                items = sorted(self.cases.values(), key=lambda r: r["updated_at"])
            if since:
                cut = parse_time(since, "updated_since")
                items = [r for r in items if parse_time(r["updated_at"], "u") >= cut]
            total = max(1, -(-len(items) // size))
            return jsonify(page=page, page_size=size, total_pages=total,
                           items=items[(page - 1) * size: page * size])

        @app.get("/dld/dld/v1/events")
        def dld():
            since, limit = int(request.args.get("since", 0)), int(request.args.get("limit", 500))
            with self.lock:
                items = sorted((r for r in self.dld.values() if r["updateTime"] > since),
                               key=lambda r: r["updateTime"])[:limit]
            nxt = items[-1]["updateTime"] if items else since
            return jsonify(code=0, msg="ok", data={"records": items, "next": nxt})

        @app.get("/open311/v2/requests.json")
        def o311():
            start = parse_time(request.args.get("start_date"), "start_date")
            end = parse_time(request.args.get("end_date"), "end_date")
            if (end - start) > timedelta(days=90):
                return jsonify([{"code": 400, "description": "window longer than 90 days"}]), 400
            with self.lock:
                items = [r for r in self.o311.values()
                         if start <= parse_time(r["requested_datetime"], "r") <= end]
            return jsonify(items)

        @app.get("/sheets/events.csv")
        def sheet():
            since, cursor = request.args.get("since"), self.sheet_columns["cursor"]
            with self.lock:
                rows = [dict(r) for r in self.sheet.values() if not since or r[cursor] > since]
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=list(self.sheet_columns.values()))
            writer.writeheader()
            writer.writerows(rows)
            return Response(buf.getvalue().encode("gbk"), content_type="text/csv; charset=gbk")

        return app

    def start(self, port: int, tick_seconds: float = 4.0) -> str:
        """Serve on 127.0.0.1:port and tick in the background; return the base URL."""
        server = make_server("127.0.0.1", port, self.wsgi(), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True, name="feed-simulator").start()

        def loop():
            while True:
                time.sleep(tick_seconds)
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - the demo feed must keep going
                    log.exception("simulator tick failed")

        threading.Thread(target=loop, daemon=True, name="feed-simulator-tick").start()
        return f"http://127.0.0.1:{server.server_port}"

