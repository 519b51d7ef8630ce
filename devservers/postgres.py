"""A throwaway PostgreSQL cluster from Debian's packages, for tests and benchmarks (never for production)."""
from __future__ import annotations

from .net import free_port


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


class PgServer:
    """A throwaway PostgreSQL cluster (Debian's packages) on a free port, for this test run."""

    def __init__(self):
        import glob
        import os
        import shutil
        import subprocess
        import tempfile
        from pathlib import Path as _Path

        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            raise PostgresMissing("PostgreSQL is not installed (`make test` installs it)")
        self.bindir = bins[-1]
        self.data = _Path(tempfile.mkdtemp(prefix="gridcockpit-pg-"))  # outside any root-only folder
        self.as_postgres = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            shutil.chown(self.data, "postgres", "postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self._run = lambda *args: subprocess.run([*self.as_postgres, *args], check=True, capture_output=True)
        self._run(f"{self.bindir}/initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--encoding=UTF8", "--locale=C.UTF-8")
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-l", str(self.data / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
                  f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200", "start")
        self.counter = 0

    def url(self, name: str) -> str:
        """SQLAlchemy URL of database `name` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str, template: str | None = None):
        """Create a database (optionally as a copy of `template`) and return a migrated-or-copied engine."""
        from sqlalchemy import create_engine

        from governance.core.db import make_engine

        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        admin.dispose()
        return make_engine(self.url(name))

    def drop_database(self, name: str) -> None:
        """Drop a database, ending its sessions (PostgreSQL 13+): test copies of the world are ~100 MB each."""
        from sqlalchemy import create_engine

        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.dispose()

    def copy_of_world(self):
        """A private copy of the pristine seeded world (tests may write to it)."""
        self.counter += 1
        return self.create_database(f"copy_{self.counter}", template="world_template")

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by this server's processes (postmaster and its children; Linux /proc)."""
        import os

        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        total = 0
        try:  # backends that have ended: the postmaster reaped them, their CPU is in its children's time
            with open(f"/proc/{postmaster}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime + cstime
        except (OSError, ValueError, IndexError):
            reaped = 0.0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    parent = int(fh.read().rsplit(")", 1)[1].split()[1])
                if int(pid) == postmaster or parent == postmaster:
                    with open(f"/proc/{pid}/schedstat") as fh:
                        total += int(fh.read().split()[0])  # nanoseconds on the CPU
            except (OSError, ValueError, IndexError):
                continue  # a backend that just ended
        return total / 1e9 + reaped

    def stop(self):
        import shutil

        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.data, ignore_errors=True)
