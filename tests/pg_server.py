"""A throwaway PostgreSQL server for the tests, the benchmarks and the e2e runs.

It is made from Debian's ``postgresql`` binaries (``make setup`` installs them): ``initdb``
into a fresh temporary directory, then ``postgres`` listening on 127.0.0.1 only, on a free
port, with its unix socket in that same directory. Nothing on the machine is shared with
another run (own port, own directory), so two test runs can go on side by side.

    with running_postgres() as server:
        url = server.url       # postgresql+asyncpg://aricb:aricb@127.0.0.1:PORT/aricb
        async with fresh_database(url) as test_url: ...

Durability is traded for speed (fsync, synchronous_commit and full_page_writes off): the
data lives for one run only. Root may not run postgres, so as root both programs run as
the ``postgres`` system user (created by the Debian package) through ``setpriv``, which
execs in place: the PID we hold is the postmaster's own, and it is stopped by that PID.
``--pdeathsig`` makes the postmaster shut down if the process that started it dies
without stopping it (a killed test run); start it from a thread that lives as long as
the server (the main thread), since the signal follows the starting thread.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

BIN_DIRS = Path("/usr/lib/postgresql")
ROLE = PASSWORD = DATABASE = "aricb"
SERVER_USER = "postgres"
DIR_PREFIX = "aricb-pg-"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
PORT_ATTEMPTS = 3

# Throwaway data: no durability, and enough connections for several app processes at once.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
    "max_wal_size": "1GB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "logging_collector": "off",
}


class PostgresMissing(RuntimeError):
    """Debian's PostgreSQL binaries are not installed."""


class PostgresFailed(RuntimeError):
    """The throwaway server could not be made or did not come up."""


@dataclass
class PgServer:
    """A running throwaway server; ``url`` names its ``aricb`` database as role ``aricb``."""

    url: str
    port: int
    pid: int
    workdir: Path
    process: subprocess.Popen

    def stop(self) -> None:
        """Shut the server down (by its PID) and remove its directory."""
        try:
            _stop_process(self.process)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def find_bin_dir() -> Path:
    """The ``bin`` directory of the newest PostgreSQL version installed by Debian."""
    versions = [path for path in BIN_DIRS.glob("*/bin") if (path / "initdb").is_file()
                and path.parent.name.isdigit()]
    if not versions:
        raise PostgresMissing(f"no PostgreSQL binaries under {BIN_DIRS}/*/bin "
                              "(Debian's `postgresql` package; `make setup` installs it)")
    return max(versions, key=lambda path: int(path.parent.name))


def start_postgres() -> PgServer:
    """Make and start a throwaway server; returns once it accepts connections."""
    bin_dir = find_bin_dir()
    _remove_stale_workdirs()
    workdir = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{os.getpid()}-"))
    try:
        _give_to_server_user(workdir)
        _initdb(bin_dir, workdir)
        server = _start_on_a_free_port(bin_dir, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        _create_role_and_database(bin_dir, server.port)
    except BaseException:
        server.stop()
        raise
    return server


@contextmanager
def running_postgres() -> Iterator[PgServer]:
    """A throwaway server for the duration of the ``with`` block."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def fresh_database(base_url: str) -> AsyncIterator[str]:
    """A new, empty database next to the one in ``base_url`` (whose role needs CREATEDB);
    yields its URL and drops it afterwards, closing any connection still open to it."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"aricb_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


# ----------------------------------------------------------------------------- internals
def _as_server_user(argv: list[str], *, pdeathsig: bool = False) -> list[str]:
    """``argv`` run as the unprivileged server user when we are root, by exec in place."""
    prefix = ["setpriv"]
    if pdeathsig:
        prefix += ["--pdeathsig", "INT"]     # INT: the postmaster's fast shutdown
    if os.geteuid() == 0:
        prefix += [f"--reuid={SERVER_USER}", f"--regid={SERVER_USER}", "--init-groups"]
    return [*prefix, "--", *argv]


def _give_to_server_user(workdir: Path) -> None:
    if os.geteuid() != 0:
        return
    try:
        account = pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresMissing(f"no `{SERVER_USER}` system user (Debian's `postgresql` package "
                              "creates it; `make setup` installs it)") from None
    os.chown(workdir, account.pw_uid, account.pw_gid)


def _initdb(bin_dir: Path, workdir: Path) -> None:
    argv = [str(bin_dir / "initdb"), "--pgdata", str(workdir / "data"), "--username=postgres",
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"]
    done = subprocess.run(_as_server_user(argv), cwd=workdir, capture_output=True, text=True)
    if done.returncode != 0:
        raise PostgresFailed(f"initdb failed ({done.returncode}): {done.stderr[-2000:]}")


def _start_on_a_free_port(bin_dir: Path, workdir: Path, attempts: int = PORT_ATTEMPTS) -> PgServer:
    """The free port we pick may be taken before postgres binds it: then try another."""
    port = _free_port()
    process = _launch(bin_dir, workdir, port)
    try:
        _wait_until_ready(process, workdir, port)
    except PostgresFailed as failed:
        _stop_process(process)
        log = _log_tail(workdir)
        if "could not bind" in log and attempts > 1:
            return _start_on_a_free_port(bin_dir, workdir, attempts - 1)
        raise PostgresFailed(f"{failed} (port {port}); its log: {log}") from None
    url = f"postgresql+asyncpg://{ROLE}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"
    return PgServer(url=url, port=port, pid=process.pid, workdir=workdir, process=process)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(bin_dir: Path, workdir: Path, port: int) -> subprocess.Popen:
    settings = {**SETTINGS, "port": str(port), "unix_socket_directories": str(workdir)}
    argv = [str(bin_dir / "postgres"), "-D", str(workdir / "data")]
    for name, value in settings.items():
        argv += ["-c", f"{name}={value}"]
    with open(workdir / "postgres.log", "wb") as log:     # one attempt's log only
        # Its own session: a Ctrl-C at the terminal reaches pytest, which then stops it
        # in order, rather than killing the server under the tests' feet.
        return subprocess.Popen(_as_server_user(argv, pdeathsig=True), cwd=workdir,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)


def _wait_until_ready(process: subprocess.Popen, workdir: Path, port: int) -> None:
    """The postmaster writes "ready" into postmaster.pid once it accepts connections."""
    pid_file = workdir / "data" / "postmaster.pid"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PostgresFailed(f"postgres exited with {process.returncode}")
        if _pid_file_says_ready(pid_file, port):
            return
        time.sleep(0.02)
    raise PostgresFailed(f"postgres not ready within {START_TIMEOUT:.0f} s")


def _pid_file_says_ready(pid_file: Path, port: int) -> bool:
    try:
        lines = pid_file.read_text().splitlines()
    except FileNotFoundError:
        return False
    # Lines: pid, data dir, start time, port, socket dir, listen address, shmem key, status.
    return len(lines) >= 8 and lines[3].strip() == str(port) and lines[7].strip() == "ready"


def _create_role_and_database(bin_dir: Path, port: int) -> None:
    argv = [str(bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
            "-p", str(port), "-U", "postgres", "-d", "postgres",
            "-c", f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}' CREATEDB",
            "-c", f"CREATE DATABASE {DATABASE} OWNER {ROLE}"]
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
    if done.returncode != 0:
        raise PostgresFailed(f"could not create role and database: {done.stderr[-2000:]}")


def _stop_process(process: subprocess.Popen) -> None:
    """Fast shutdown (SIGINT) by PID; immediate (SIGQUIT), then SIGKILL, if it hangs."""
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            continue


def _log_tail(workdir: Path) -> str:
    try:
        return (workdir / "postgres.log").read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


def _remove_stale_workdirs() -> None:
    """Directories left by runs that were killed: their owner is gone and, thanks to
    --pdeathsig, so is their server (no postmaster.pid). Only directories are removed."""
    pattern = re.compile(re.escape(DIR_PREFIX) + r"(\d+)-")
    for path in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        owner = pattern.match(path.name)
        if not owner or _is_alive(int(owner.group(1))):
            continue
        if not (path / "data" / "postmaster.pid").exists():
            shutil.rmtree(path, ignore_errors=True)


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # alive, and someone else's
        pass
    return True
