"""The result cache is shared by separate processes: one computes, the others reuse its result."""
from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from governance.core.cache import SharedCache, namespace_of


def _ask(directory: str, namespace: str, marks: str, asking: str, askers: int, results) -> None:
    """In a fresh process: ask the shared cache for one key whose computation leaves a mark and lasts until
    every one of the `askers` processes has asked (so they all ask while it is being computed)."""
    cache = SharedCache(directory, namespace)

    def compute():
        Path(marks, str(os.getpid())).write_text("computed")
        deadline = time.monotonic() + 60  # process start-up (spawn, imports) is slow on a busy machine
        while len(list(Path(asking).iterdir())) < askers and time.monotonic() < deadline:
            time.sleep(0.01)  # polling interval: the condition (all have asked) decides
        return {"closure_rate": 81.8, "by": os.getpid()}

    Path(asking, str(os.getpid())).write_text("asking")
    results.put(cache.get_or_compute(("kpis", "v1", "202611201200", "/510107001/", "year"), compute))


def _run(n: int, directory: Path, namespace: str, marks: Path) -> list:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    asking = directory.parent / f"asking-{namespace}-{time.monotonic_ns()}"
    asking.mkdir()
    procs = [ctx.Process(target=_ask, args=(str(directory), namespace, str(marks), str(asking), n, results))
             for _ in range(n)]
    for p in procs:
        p.start()
    out = [results.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return out


def test_four_processes_compute_a_missing_key_once(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    values = _run(4, tmp_path / "cache", "ns1", marks)
    assert len(list(marks.iterdir())) == 1  # one process computed, three waited for its result
    assert all(v == values[0] for v in values) and values[0]["closure_rate"] == 81.8
    # a later process finds it without computing
    assert _run(1, tmp_path / "cache", "ns1", marks) == [values[0]]
    assert len(list(marks.iterdir())) == 1
    # another deployment (database) sharing the directory computes its own
    _run(1, tmp_path / "cache", "ns2", marks)
    assert len(list(marks.iterdir())) == 2


def test_namespace_hides_the_password_and_tells_databases_apart():
    a = namespace_of("postgresql+psycopg://cockpit:secret1@db/grid")
    assert a == namespace_of("postgresql+psycopg://cockpit:secret2@db/grid")
    assert a != namespace_of("postgresql+psycopg://cockpit:secret1@db/other")
    assert "secret" not in a


def test_an_unusable_cache_directory_stops_the_app_at_start_with_its_name(tmp_path):
    from dashboard.app import create_app
    from governance.core.config import load_settings

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", secret_key="s" * 40,
                             cache_dir=str(blocker))
    with pytest.raises(ValueError, match="COCKPIT_CACHE_DIR .*not-a-directory"):
        create_app(settings)



class _Interleaved:
    """A process's view of the cache directory that calls `after(name, result)` after each of its calls, so a
    test can let another process act at an exact point of this one's steps."""

    def __init__(self, disk, after):
        self._disk, self._after = disk, after

    def __getattr__(self, name):
        method = getattr(self._disk, name)

        def call(*args, **kwargs):
            result = method(*args, **kwargs)
            self._after(name, result)
            return result
        return call

    def __contains__(self, item):
        return item in self._disk


@pytest.mark.parametrize("finishes_after", ["its first read", "a read while it waits"])
def test_a_result_stored_while_another_process_looks_is_taken_not_recomputed(tmp_path, finishes_after):
    """The process computing a key stores it and lets go of its lock between two steps of one waiting: the
    waiting one takes the stored value (it used to compute it a second time, seen once in CI)."""
    from governance.core.cache import _MISSING

    key = ("kpis", "v1", "202611201200", "/510107001/", "year")
    first, second = SharedCache(tmp_path, "ns"), SharedCache(tmp_path, "ns")
    lock = ("computing", "ns", *key)
    assert first.disk.add(lock, "first")  # `first` is computing the key
    finished, reads = [], []

    def after(name, result):
        if name == "get" and result is _MISSING:
            reads.append(name)
        point = len(reads) == (1 if finishes_after == "its first read" else 2)
        if point and not finished:
            first.disk.set(("ns", *key), {"by": "first"})
            first.disk.delete(lock)
            finished.append(name)

    second._disk, second._pid = _Interleaved(second.disk, after), os.getpid()
    computed = []
    value = second.get_or_compute(key, lambda: computed.append("second") or {"by": "second"})
    assert finished and value == {"by": "first"} and computed == []
    assert ("computing", "ns", *key) not in first.disk  # and no lock is left behind
