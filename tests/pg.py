"""A throw-away PostgreSQL server for the tests, from Debian's postgresql package, in a temporary folder.

initdb refuses to run as root, so as root the server runs as the package's `postgres` user. Listens on
127.0.0.1 and a free port only; stopped (immediately) at the end of the session.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path


def find_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PgServer:
    """A running throw-away server: `url`, and `stop()` / `start()` to take it away mid-test and back."""

    def __init__(self, data: Path, root: Path, port: int, as_user: list[str]):
        self.data, self.root, self.port, self.as_user = data, root, port, as_user
        self.url = f"postgresql+psycopg://dojo@127.0.0.1:{port}/postgres"

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run([*self.as_user, find_bin("pg_ctl"), "-D", str(self.data), *args], check=check,
                       capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        self._pg_ctl("-w", "-t", "60", "-l", str(self.root / "log"), "-o",
                     f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self, check: bool = True) -> None:
        self._pg_ctl("-m", "immediate", "stop", check=check)


@contextmanager
def postgres_server(port: int):
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise FileNotFoundError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="dojo-pg-"))
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    server = PgServer(data, root, port, as_user)
    try:
        subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "dojo", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, text=True, timeout=120)
        server.start()
        yield server
    finally:
        server.stop(check=False)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
