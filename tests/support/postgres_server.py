"""A private PostgreSQL server for tests: its own data directory, Unix socket and port.

`initdb` and `postgres` refuse to run as root, so as root the server runs as the `postgres`
system user (Debian's package creates it). Nothing listens on TCP; clients connect through the
socket directory. `.ci/run` installs the server and sets RUNBELL_REQUIRE_POSTGRES=1, so a
missing server fails the tests there instead of skipping them.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

REQUIRE_ENV = "RUNBELL_REQUIRE_POSTGRES"


class PostgresUnavailable(RuntimeError):
    pass


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") == "1"


def _bin_dir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not versions:
        raise PostgresUnavailable("no PostgreSQL server binaries (Debian: apt-get install postgresql)")
    return Path(versions[-1]).parent


class PostgresServer:
    """`start()` → a SQLAlchemy URL of an empty database; `stop()` removes everything."""

    def __init__(self) -> None:
        self._root: Path | None = None
        self._run_as: list[str] = []
        self._bin = _bin_dir()

    def start(self) -> str:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise PostgresUnavailable("psycopg is not installed (pip install -e '.[test]')") from exc
        self._root = Path(tempfile.mkdtemp(prefix="runbell-pg-"))
        os.chmod(self._root, 0o755)
        data, sock = self._root / "data", self._root / "sock"
        sock.mkdir()
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root and there is no 'postgres' user") from exc
            os.chown(self._root, user.pw_uid, user.pw_gid)
            os.chown(sock, user.pw_uid, user.pw_gid)
            self._run_as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.port = 20000 + os.getpid() % 20000
        self._run("pg_ctl", "-D", str(data), "-l", str(self._root / "server.log"), "-w", "-t", "60", "-o",
                  f"-k {sock} -p {self.port} -c listen_addresses='' -c fsync=off -c max_connections=60", "start")
        self.socket_dir = sock
        self._run("createdb", "-h", str(sock), "-p", str(self.port), "-U", "postgres", "runbell")
        return f"postgresql+psycopg://postgres@/runbell?host={sock}&port={self.port}"

    def _run(self, tool: str, *args: str) -> None:
        proc = subprocess.run([*self._run_as, str(self._bin / tool), *args], capture_output=True, text=True,
                              timeout=120)
        if proc.returncode != 0:
            log = ""
            if self._root is not None and (self._root / "server.log").exists():
                log = (self._root / "server.log").read_text(errors="replace")[-2000:]
            raise PostgresUnavailable(f"{tool} failed: {proc.stderr.strip() or proc.stdout.strip()}\n{log}")

    def stop(self) -> None:
        if self._root is None:
            return
        data = self._root / "data"
        if data.exists():
            subprocess.run([*self._run_as, str(self._bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                            "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None
