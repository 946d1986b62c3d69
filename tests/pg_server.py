"""A throwaway PostgreSQL server for the tests and the sweep benchmark: the distribution's own binaries, a
temporary data folder, a free port on 127.0.0.1, password authentication, stopped and deleted at the end.

Nothing is installed here: the server comes from the Debian/Ubuntu package (``apt-get install -y postgresql``,
binaries under ``/usr/lib/postgresql/<version>/bin``) or from ``$LIGHTNING_SPECTRA_PG_BIN``. ``initdb`` refuses
to run as root, so as root the server runs as the ``postgres`` system user the package creates (``runuser``).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN_ENV = "LIGHTNING_SPECTRA_PG_BIN"  # a folder holding initdb, pg_ctl and postgres; overrides the search
SERVER_USER = "postgres"  # the system user of the Debian package
BINARIES = ("initdb", "pg_ctl", "postgres")
USER, PASSWORD = "optuna", "sweep-secret"


def _version(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in bin_dir.parent.name.split(".") if p.isdigit())


def find_binaries() -> Path | None:
    """The folder with the server binaries: ``$LIGHTNING_SPECTRA_PG_BIN``, else the newest packaged version."""
    if override := os.environ.get(PG_BIN_ENV):
        candidates = [Path(override)]
    else:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
        if on_path := shutil.which("pg_ctl"):
            candidates.append(Path(on_path).parent)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in BINARIES):
            return folder
    return None


def why_unavailable() -> str | None:
    """None when a server can be started here, else the reason (for ``pytest.skip``)."""
    where = os.environ.get(PG_BIN_ENV) or "/usr/lib/postgresql/*/bin or PATH"
    if importlib.util.find_spec("psycopg") is None:
        return "no PostgreSQL driver for Python: pip install -e '.[postgres]' (psycopg 3)"
    if find_binaries() is None:
        return f"no PostgreSQL server binaries ({', '.join(BINARIES)}) in {where}: apt-get install -y postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} system user for the server (initdb refuses root)"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing (needed to start the server as the postgres user)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One server in a temporary folder; ``start`` / ``stop`` may be called again (a restart keeps the data)."""

    def __init__(self) -> None:
        reason = why_unavailable()
        if reason:
            raise RuntimeError(reason)
        self.bin_dir = find_binaries()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="lightning-spectra-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_server_user = [] if os.geteuid() else ["runuser", "-u", SERVER_USER, "--"]
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        password_file = self.root / "password"
        password_file.write_text(PASSWORD + "\n")
        self._run("initdb", "-D", self.data, "-U", USER, "--pwfile", password_file, "-A", "scram-sha-256", "-E", "UTF8")
        password_file.unlink()

    def _run(self, binary: str, *args: object) -> None:
        cmd = [*self._as_server_user, str(self.bin_dir / binary), *map(str, args)]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode:
            raise RuntimeError(f"{binary} failed ({result.returncode}): {result.stderr or result.stdout}")

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root}"  # TCP on loopback; the socket stays in our folder
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as when the database host goes down."""
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop")

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.url(driver="postgresql"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
