"""Concurrency: 200 wall/laptop viewers plus 5 dispatchers, against gunicorn, with push on.

python -m bench.load [--viewers 200] [--dispatchers 5] [--seconds 60] [--databases sqlite,postgresql]

Each viewer is a real signed-in session (wall devices and leaders) posting exactly what the cockpit
posts. As in the browser, a viewer first opens the change stream (GET /api/v1/changes): the ones the
server takes (COCKPIT_LIVE_STREAMS per worker) refresh at each pushed change, asking for a fresh
view, and otherwise once a minute; the ones it turns away (503) refresh every 15 s. Each dispatcher
dispatches an open event every few seconds, which changes the data version, so refreshes recompute
rather than hitting a warm cache.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import text

from .common import device_sessions, free_port, print_table, wait_http, write_results

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-load-secret-0123456789abcdefghijklmnopqrstu"
TARGET_P95_S = 0.2
RENDER_INPUTS = [("url", "hash"), ("grid-layer", "n_clicks"), ("map-metric", "value"), ("cockpit-period", "value"),
                 ("map-overlays", "value"), ("cockpit-refresh", "n_intervals"), ("live-version", "data")]
LIVE_TICK_S = 60.0  # the refresh timer of a viewer whose change stream is open (assets/gridcockpit.js)
RENDER_STATE = [("grid-layer", "clickData"), ("view-stamp", "data")]


def _outputs_key(app_outputs: list[str]) -> str:
    return ".." + "...".join(app_outputs) + ".."


class Viewer:
    """One browser: a session cookie, a view, and the view-stamp the last refresh returned."""

    def __init__(self, base: str, cookies: dict, area: str, output_key: str, outputs: list):
        self.http = requests.Session()
        self.http.cookies.update(cookies)
        self.http.headers["X-CSRFToken"] = cookies["_csrf_token"]
        self.key, self.outputs, self.base = output_key, outputs, base
        self.n = 0
        self.open(area)

    def open(self, area: str) -> None:
        """Open a view as a wall's link does: area, 预警等级, this year, warning points shown."""
        self.area, self.stamp = area, None
        self.shown = {("url", "hash"): f"#area={area}&metric=warning&period=year&markers=1",
                      ("map-metric", "value"): "warning", ("cockpit-period", "value"): "year",
                      ("map-overlays", "value"): ["markers"]}

    def refresh(self, version: str | None = None) -> tuple[float, int, int]:
        """One refresh: a timer tick, or (with `version`) a pushed change; (seconds, HTTP status, bytes)."""
        self.n += version is None
        values = {**self.shown, ("cockpit-refresh", "n_intervals"): self.n, ("live-version", "data"): version,
                  ("view-stamp", "data"): self.stamp}
        body = {"output": self.key, "outputs": self.outputs,
                "inputs": [{"id": i, "property": p, "value": values.get((i, p))} for i, p in RENDER_INPUTS],
                "state": [{"id": i, "property": p, "value": values.get((i, p))} for i, p in RENDER_STATE],
                "changedPropIds": ["live-version.data" if version else "cockpit-refresh.n_intervals"]}
        start = time.perf_counter()
        resp = self.http.post(self.base + "/_dash-update-component", json=body, timeout=30)
        elapsed = time.perf_counter() - start
        if resp.status_code == 200:
            answer = resp.json().get("response", {})
            stamp = answer.get("view-stamp", {}).get("data")
            if stamp:
                self.stamp = patched(self.stamp, stamp)
            for (cid, prop) in self.shown:  # as the browser does: the fragment and controls take what came back
                if prop in answer.get(cid, {}):
                    self.shown[(cid, prop)] = answer[cid][prop]
        return elapsed, resp.status_code, len(resp.content)

    def listen(self, on_change, stop_at: float, on_open=None) -> bool:
        """Hold the change stream (in this thread) and call on_change(version) at each change; False when
        refused. on_open(held) is called once the server has answered."""
        try:
            resp = self.http.get(self.base + "/api/v1/changes", stream=True, timeout=(10, 30))
        except requests.RequestException:
            return False
        if on_open is not None:
            on_open(resp.status_code == 200)
        if resp.status_code != 200:
            resp.close()
            return False
        seen = None
        try:
            for line in resp.iter_lines(decode_unicode=True):
                if time.perf_counter() > stop_at:
                    break
                if line and line.startswith("data: "):
                    version = line[6:]
                    if seen is not None and version != seen:
                        on_change(version)
                    seen = version
        except requests.RequestException:
            pass
        finally:
            resp.close()
        return True


def patched(stored, value):
    """The view stamp after a render's answer: the answer itself, or a Dash Patch (Assign operations) applied."""
    if not isinstance(value, dict) or "__dash_patch_update" not in value:
        return value
    import copy

    out = copy.deepcopy(stored) if isinstance(stored, dict) else {}
    for op in value["operations"]:
        target = out
        for key in op["location"][:-1]:
            target = target.setdefault(key, {})
        if op["operation"] == "Assign":
            target[op["location"][-1]] = op["params"]["value"]
    return out


def _sessions(engine, n: int, kind: str) -> list[dict]:
    """Open n sessions directly in the database (wall devices or a leader account)."""
    from governance.accounts.accounts import create_user, open_session
    from governance.events.queries import world_info
    from governance.core.timeutil import utcnow

    if kind == "kiosk":
        return device_sessions(engine, "load-wall", n)
    out = []
    with engine.begin() as conn:
        focus = world_info(conn)["focus_code"]
        uid = conn.execute(text("SELECT id FROM user_account WHERE username='load-leader'")).scalar()
        if uid is None:
            uid = create_user(conn, "load-leader", "load-leader-password", "subdistrict_leader", focus, utcnow())
        for _ in range(n):
            token, csrf = open_session(conn, utcnow(), user_id=uid)
            out.append({"gc_session": token, "_csrf_token": csrf})
    return out


def _dispatch_once(http: requests.Session, base: str, engine, rng: random.Random, key: str) -> tuple[float, int]:
    """One dispatcher action through the event card's callback: 提交结果 (handle → feedback) on an open event."""
    with engine.connect() as conn:
        eid = conn.execute(text(
            "SELECT id FROM event WHERE status = 'handle' AND duplicate_of_id IS NULL ORDER BY id DESC "
            "LIMIT 1 OFFSET :o"), {"o": rng.randrange(1000)}).scalar()
    if eid is None:
        return 0.0, 204
    body = {"output": key, "outputs": {"id": {"event": eid, "type": "event-card"}, "property": "children"},
            "inputs": [[], [{"id": {"event": eid, "to": "feedback", "type": "step"}, "property": "n_clicks",
                             "value": 1}],
                       {"id": {"event": eid, "type": "visit-save"}, "property": "n_clicks", "value": None}, [], [], []],
            "state": [{"id": {"event": eid, "type": "depts"}, "property": "value", "value": []},
                      {"id": {"event": eid, "type": "step-note"}, "property": "value", "value": "压测：已处置"},
                      {"id": {"event": eid, "type": "visit-score"}, "property": "value", "value": None}],
            "changedPropIds": [f'{{"event":{eid},"to":"feedback","type":"step"}}.n_clicks']}
    start = time.perf_counter()
    resp = http.post(base + "/_dash-update-component", json=body, timeout=30)
    if resp.status_code == 200 and "已提交结果" not in json.dumps(resp.json(), ensure_ascii=False):
        return time.perf_counter() - start, 409  # the action did not happen: count it as an error
    return time.perf_counter() - start, resp.status_code


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its children (Linux /proc): the server's
    work, which unlike latencies does not depend on what else the machine is doing."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def run_scenario(engine, viewers: int, dispatchers: int, seconds: float, period: float = 15.0) -> dict:
    """Serve the database with gunicorn and drive it; return latency percentiles and error counts."""
    from governance.events.queries import world_info

    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), DATABASE_URL=engine.url.render_as_string(hide_password=False),
               COCKPIT_SECRET_KEY=SECRET, COCKPIT_DEMO_FEEDS="0")
    log = open(Path(tempfile.gettempdir()) / f"gridcockpit-load-{port}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "8", "-b",
                             f"127.0.0.1:{port}", "--timeout", "60", "--access-logfile", "-",
                             "--access-logformat", "%(r)s %(s)s %(D)s", "wsgi:application"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/api/v1/health", proc)
        with engine.connect() as conn:
            focus = world_info(conn)["focus_code"]
            comms = [r[0] for r in conn.execute(text(
                "SELECT code FROM area WHERE level='community' AND parent_id = (SELECT id FROM area WHERE code=:c)"),
                {"c": focus})]
        requests.get(base + "/login")  # Dash fills its callback map on the first request
        deps = requests.Session()
        deps.cookies.update(_sessions(engine, 1, "user")[0])
        callbacks = deps.get(base + "/_dash-dependencies").json()
        render_key = next(c["output"] for c in callbacks if "grid-layer.url" in c["output"])
        act_key = next(c["output"] for c in callbacks if '"type":"event-card"' in c["output"])
        outputs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]}
                   for o in render_key.strip(".").split("...")]
        walls = _sessions(engine, viewers // 2, "kiosk")
        laptops = _sessions(engine, viewers - len(walls), "user")
        rng = random.Random(7)
        crowd = [Viewer(base, c, focus if i % 3 else rng.choice(comms), render_key, outputs)
                 for i, c in enumerate(walls + laptops)]
        # A command-room server is warm: every view the crowd will ask for is computed once per worker first.
        warm = Viewer(base, _sessions(engine, 1, "user")[0], focus, render_key, outputs)
        for area in [focus, *comms] * 3:
            warm.open(area)
            warm.refresh()
        samples: dict[str, list[float]] = {"first load": [], "refresh": [], "pushed refresh": [], "dispatch": []}
        lock = threading.Lock()
        streaming: set[int] = set()
        opened = [0]

        errors: dict[str, Counter] = {kind: Counter() for kind in samples}  # what each error was

        def record(kind: str, elapsed: float, error: str | None) -> None:
            with lock:
                samples[kind].append(elapsed)
                if error:
                    errors[kind][error] += 1

        def viewer_tick(v: Viewer, kind: str, version: str | None = None):
            try:
                elapsed, status, _size = v.refresh(version)
                record(kind, elapsed, None if status in (200, 204) else f"HTTP {status}")
            except requests.RequestException as exc:  # counted as a 30 s wait (the client's timeout)
                record(kind, 30.0, type(exc).__name__)

        def dispatcher(i: int, stop_at: float):
            http = requests.Session()
            cookies = _sessions(engine, 1, "user")[0]
            http.cookies.update(cookies)
            http.headers["X-CSRFToken"] = cookies["_csrf_token"]
            drng = random.Random(100 + i)
            while time.perf_counter() < stop_at:
                try:
                    elapsed, status = _dispatch_once(http, base, engine, drng, act_key)
                    record("dispatch", elapsed, None if status == 200 else f"HTTP {status}")
                except requests.RequestException as exc:
                    record("dispatch", 30.0, type(exc).__name__)
                time.sleep(drng.uniform(2, 4))

        def listener(i: int, stop_at: float, pool):
            """A viewer's change stream: while the server holds it, each change is a pushed refresh."""
            def pushed(version):
                try:
                    if time.perf_counter() < stop_at:
                        pool.submit(viewer_tick, crowd[i], "pushed refresh", version)
                except RuntimeError:  # the run is over and its pool shut down
                    pass

            def opened_now(held: bool):
                with lock:
                    opened[0] += held
                    if held:
                        streaming.add(i)

            crowd[i].listen(pushed, stop_at, opened_now)
            with lock:
                streaming.discard(i)

        def open_stream(i: int, stop_at: float, pool):
            threading.Thread(target=listener, args=(i, stop_at, pool), daemon=True).start()

        cpu_before = _tree_cpu_seconds(proc.pid)
        with ThreadPoolExecutor(max_workers=48) as pool:
            start = time.perf_counter()
            stop_at = start + seconds
            # Walls and laptops open over the first period, then refresh every `period` seconds.
            due = sorted((start + rng.uniform(0, period), i) for i in range(len(crowd)))
            first = set(range(len(crowd)))
            for i in range(dispatchers):
                pool.submit(dispatcher, i, stop_at)
            # A viewer whose stream the server holds refreshes on its own only once a LIVE_TICK_S; whether
            # it holds one is looked at on each tick (the answer to the stream request comes later).
            last_tick: dict[int, float] = {}
            while due and due[0][0] < stop_at:
                at, i = due.pop(0)
                time.sleep(max(0.0, at - time.perf_counter()))
                with lock:
                    resting = i in streaming and at - last_tick.get(i, at) < LIVE_TICK_S
                if not resting:
                    pool.submit(viewer_tick, crowd[i], "first load" if i in first else "refresh")
                    last_tick[i] = at
                    if i in first:
                        open_stream(i, stop_at, pool)
                    first.discard(i)
                due.append((at + period, i))
                due.sort()
        result = {"viewers": viewers, "dispatchers": dispatchers, "seconds": seconds,
                  "dialect": engine.dialect.name, "streams_held": opened[0],
                  "server_cpu_s": _tree_cpu_seconds(proc.pid) - cpu_before}
        for kind, values in samples.items():
            values.sort()
            result[kind] = {"n": len(values), "errors": sum(errors[kind].values()), "error_kinds": dict(errors[kind]),
                            "p50_s": statistics.median(values) if values else None,
                            "p95_s": values[int(0.95 * (len(values) - 1))] if values else None,
                            "max_s": values[-1] if values else None}
        return result
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=45)  # open change streams hold their threads until gunicorn's graceful timeout
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def main(argv=None) -> dict:
    """Command line entry: prints the table, writes bench/results/load.json."""
    from .pg import bench_databases

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--dispatchers", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "gridcockpit-bench.sqlite3")
    args = parser.parse_args(argv)
    results = {}
    with bench_databases(args.databases.split(","), args.db) as engines:
        for kind, engine in engines.items():
            results[kind] = run_scenario(engine, args.viewers, args.dispatchers, args.seconds)
    rows = []
    for kind, r in results.items():
        for what in ("first load", "refresh", "pushed refresh", "dispatch"):
            s = r[what]
            if not s["n"]:
                continue
            rows.append([kind, what, s["n"], f"{s['p50_s'] * 1000:.0f}", f"{s['p95_s'] * 1000:.0f}",
                         f"{s['max_s'] * 1000:.0f}", s["errors"],
                         "✓" if s["p95_s"] <= TARGET_P95_S and not s["errors"] else "✗"])
    held = ", ".join(f"{kind} {r['streams_held']}" for kind, r in results.items())
    cpu = ", ".join(f"{kind} {r['server_cpu_s']:.0f} s ({r['server_cpu_s'] / (2 * r['seconds']):.0%} of 2 cores)"
                    for kind, r in results.items())
    print_table(f"{args.viewers} viewers (change streams the server held: {held}; the others refresh every 15 s) + "
                f"{args.dispatchers} dispatchers, {args.seconds:.0f} s, gunicorn 2 workers × 8 threads "
                f"(target p95 ≤ 200 ms, no errors)",
                ["database", "request", "n", "p50 ms", "p95 ms", "max ms", "errors", ""], rows)
    print(f"server CPU over the run: {cpu}")
    for kind, r in results.items():
        for what in ("first load", "refresh", "pushed refresh", "dispatch"):
            if r[what]["errors"]:
                kinds = ", ".join(f"{n} × {k}" for k, n in r[what]["error_kinds"].items())
                print(f"errors, {kind} {what}: {kinds} (an exception is counted as a 30 s wait)")
    print(f"results: {write_results('load', results)}")
    return results


if __name__ == "__main__":
    main()
