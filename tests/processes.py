"""Start real cockpit processes (web, gunicorn, scheduler) for tests, and stop them."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devservers.net import free_port, wait_http  # noqa: F401 - shared with the benchmarks

ROOT = Path(__file__).resolve().parent.parent


def env_for(engine, **extra) -> dict:
    """Environment of a cockpit process bound to `engine`'s database, with no demo feeds."""
    env = dict(os.environ, DATABASE_URL=str(engine.url), COCKPIT_DEMO_FEEDS="0", PYTHONPATH=str(ROOT),
               COCKPIT_SECRET_KEY="process-test-secret-key-0123456789abcdef", COCKPIT_CACHE_SECONDS="0")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    """Start a process in the project root, its output going to `log_path`."""
    log = open(log_path, "wb")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(*procs: subprocess.Popen) -> None:
    """Terminate processes and wait for them."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def web(engine, tmp_path, **env_extra) -> tuple[str, subprocess.Popen]:
    """`python app.py web` on a free port: the cockpit without scheduler or simulator."""
    port = free_port()
    proc = start([sys.executable, "app.py", "web", "--port", str(port)], env_for(engine, **env_extra),
                 tmp_path / "web.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/api/v1/health", proc)
    return url, proc
