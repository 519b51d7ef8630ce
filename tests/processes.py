"""Start real cockpit processes (web, gunicorn, scheduler) for tests, and stop them."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(engine, **extra) -> dict:
    """Environment of a cockpit process bound to `engine`'s database, with no demo feeds."""
    env = dict(os.environ, DATABASE_URL=str(engine.url), COCKPIT_DEMO_FEEDS="0", PYTHONPATH=str(ROOT))
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    """Start a process in the project root, its output going to `log_path`."""
    log = open(log_path, "wb")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until `url` answers (or fail if the process died)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise TimeoutError(url)


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
