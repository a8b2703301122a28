"""How fast ``manage.py export_data`` writes a whole deployment, and in how much memory:

    python -m bench.export_rate --measures 100000
    python -m bench.export_rate --measures 100000 --compare-with HEAD~1

For ``--measures`` and for a tenth of it (``--smaller``; 0 leaves it out), so that a memory
that grows with the data shows:

1. creates a scratch database ``exportbench_<measures>_<pid>`` on the server of
   ``--database-url`` (default ``DATABASE_URL``, else the PostgreSQL on 127.0.0.1:5432),
   migrates it and fills it with ``bench/generate.py`` (seeded: the same rows every run);
2. runs ``manage.py export_data -o FILE`` (``--indent 2``, the default, unless ``--indent``
   says otherwise) in a child process with the production settings (``DEBUG`` off),
   ``--repeat`` times, reading its peak resident set size (``VmHWM`` in
   ``/proc/<pid>/status``) every 20 ms and, when it exits, the peak the kernel kept for it
   (``ru_maxrss`` from ``wait4``, through a small launcher process), which sampling cannot
   miss;
3. prints the rows the document holds (every row of every section, each citation and each
   commenced provision counted as a row), the seconds the command took (wall clock, from
   start to exit, Python's start-up included), rows/s, the peak RSS and the file's size;
4. with ``--compare-with REV``, does the same once with ``export_data.py`` as it was at that
   git revision (``git show`` into a temporary directory, run with this tree's settings and
   models), and checks that both wrote the same text but for the ``exported_at`` line;

then drops the scratch databases and deletes the files. Bytecode is cached under a
temporary ``PYTHONPYCACHEPREFIX`` (nothing is written into the tree) and warmed before the
first timed run, so start-up is timed as it is on a deployed server; the start-up alone
(``manage.py export_data --help``) is printed too.
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
EXPORT_MODULE = "measures/management/commands/export_data.py"
# The version of export_data in this tree, as the results name it.
TREE = "this tree"
# Every table the document carries a row of (citations and commenced provisions inside
# their event or commencement, each counted as a row).
TABLES = (
    "strategy_organisation",
    "strategy_source",
    "legislation_bill",
    "legislation_billstage",
    "legislation_act",
    "legislation_provision",
    "legislation_commencement",
    "legislation_commencement_provisions",
    "strategy_strategy",
    "measures_measure",
    "measures_measureprovision",
    "measures_statusevent",
    "measures_eventcitation",
    "measures_fundingline",
)
# Runs export_data.py of another revision as a command of this tree (python -c RUNNER
# FILE ARGS...).
RUNNER = """
import importlib.util, sys
import django
django.setup()
from django.core.management import call_command
spec = importlib.util.spec_from_file_location("export_data_at_revision", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
call_command(module.Command(), *sys.argv[2:])
"""


@dataclass
class Run:
    version: str
    measures: int
    rows: int
    events: int
    seconds: float
    peak_kb: int
    sampled_kb: int
    megabytes: float
    load: float

    def line(self) -> str:
        return (
            f"{self.version:<12} {self.measures:>9,} {self.events:>9,} {self.rows:>10,} "
            f"{self.seconds:>8.1f} {self.rows / self.seconds:>9,.0f} "
            f"{self.peak_kb / 1024:>9.1f} {self.sampled_kb / 1024:>9.1f} "
            f"{self.megabytes:>8.1f} {self.load:>5.1f}"
        )


HEADER = (
    f"{'version':<12} {'measures':>9} {'events':>9} {'rows':>10} {'seconds':>8} "
    f"{'rows/s':>9} {'peak MB':>9} {'VmHWM MB':>9} {'file MB':>8} {'load':>5}"
)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def environment(url: str, pycache: Path) -> dict[str, str]:
    """Production settings over plain HTTP, for ``manage.py`` in a child process."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("DATABASE_REPLICA_URLS", None)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="0",
        DJANGO_HTTPS="0",
        DJANGO_STATIC_MANIFEST="0",
        DJANGO_LOG_LEVEL="WARNING",
        PYTHONPATH=str(BASE_DIR),
        PYTHONPYCACHEPREFIX=str(pycache),
    )
    return env


@contextmanager
def scratch_database(server: str, measures: int, keep: bool) -> Iterator[str]:
    import psycopg

    name = f"exportbench_{measures}_{os.getpid()}"
    admin = with_database(server, "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    say(f"scratch database {name}")
    try:
        yield with_database(server, name)
    finally:
        if keep:
            say(f"kept {name}")
        else:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            say(f"dropped {name}")


def row_counts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as connection:
        return {
            table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in TABLES
        }


# Starts a command and reports its peak RSS (``ru_maxrss`` from ``wait4``) to a file:
# python -I -S -c LAUNCHER RESULT_FILE PROGRAM ARGS... The command is forked from this
# small process, because Linux counts the memory of the process a child was forked from
# (the benchmark, which has just generated the data) in the child's ru_maxrss.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as result:
    result.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def vm_hwm_kb(launcher: int) -> int:
    """The peak RSS so far (VmHWM) of the command ``launcher`` started."""
    try:
        children = Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split()
        for line in Path(f"/proc/{children[0]}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, IndexError):
        pass
    return 0


def measured(command: list[str], env: dict[str, str], work: Path) -> tuple[float, int, int]:
    """Run ``command``; return its wall-clock seconds, the peak RSS the kernel reports for
    it (KB) and the highest VmHWM sampled every 20 ms while it ran (KB)."""
    sampled = 0
    result = work / "maxrss"
    log = work / "command.log"
    with log.open("w") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            [PYTHON, "-I", "-S", "-c", LAUNCHER, str(result), *command],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        while process.poll() is None:
            sampled = max(sampled, vm_hwm_kb(process.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{log.read_text()[-3000:]}")
    return seconds, int(result.read_text()), sampled


def same_but_exported_at(first: Path, second: Path) -> bool:
    with first.open("rb") as a, second.open("rb") as b:
        for left, right in itertools.zip_longest(a, b):
            if left != right and not (
                left is not None
                and right is not None
                and left.lstrip().startswith(b'"exported_at": ')
                and right.lstrip().startswith(b'"exported_at": ')
            ):
                return False
    return True


def revision_module(revision: str, directory: Path) -> Path:
    source = subprocess.run(
        ["git", "show", f"{revision}:{EXPORT_MODULE}"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = directory / "export_data_at_revision.py"
    path.write_text(source)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export_rate", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--measures", type=int, default=100_000, help="default 100,000")
    parser.add_argument(
        "--smaller", type=int, help="a second, smaller size (default a tenth; 0: none)"
    )
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per size (default 1)")
    parser.add_argument("--indent", type=int, help="passed to export_data (default: its own, 2)")
    parser.add_argument(
        "--compare-with",
        metavar="REV",
        help="also time export_data.py as it was at this git revision, and compare the files",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL URL: the scratch databases are made on its server",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch databases")
    args = parser.parse_args(argv)
    smaller = args.measures // 10 if args.smaller is None else args.smaller
    sizes = sorted({size for size in (smaller, args.measures) if size > 0})

    from bench import generate

    runs: list[Run] = []
    work = Path(tempfile.mkdtemp(prefix="exportbench-"))
    try:
        pycache = work / "pycache"
        old_module = revision_module(args.compare_with, work) if args.compare_with else None
        startup = None
        for size in sizes:
            with scratch_database(args.database_url, size, args.keep_db) as url:
                env = environment(url, pycache)
                subprocess.run(
                    [PYTHON, "manage.py", "migrate", "--noinput", "-v0"],
                    cwd=BASE_DIR,
                    env=env,
                    check=True,
                )
                say(f"generating {size:,} measures")
                generate.run(url, measures=size, seed=args.seed)
                counts = row_counts(url)
                rows = sum(counts.values())
                if startup is None:
                    help_command = [PYTHON, "manage.py", "export_data", "--help"]
                    measured(help_command, env, work)  # warms the bytecode
                    startup, _, _ = measured(help_command, env, work)
                options = [] if args.indent is None else ["--indent", str(args.indent)]
                versions: list[tuple[str, list[str], dict[str, str], int]] = [
                    (TREE, [PYTHON, "manage.py", "export_data", *options], env, args.repeat)
                ]
                if old_module is not None:
                    # It read each table in one statement: no statement timeout for it.
                    old_env = {**env, "DATABASE_STATEMENT_TIMEOUT_MS": "0"}
                    command = [PYTHON, "-c", RUNNER, str(old_module), *options]
                    versions.append((args.compare_with, command, old_env, 1))
                files = {}
                for version, command, version_env, repeat in versions:
                    output = work / f"{version.replace('/', '_')}-{size}.json"
                    for _ in range(repeat):
                        load = os.getloadavg()[0]
                        say(f"{version}: export_data of {size:,} measures")
                        seconds, peak, sampled = measured(
                            [*command, "-o", str(output)], version_env, work
                        )
                        run = Run(
                            version=version,
                            measures=counts["measures_measure"],
                            rows=rows,
                            events=counts["measures_statusevent"],
                            seconds=seconds,
                            peak_kb=peak,
                            sampled_kb=sampled,
                            megabytes=output.stat().st_size / 1e6,
                            load=load,
                        )
                        say(run.line())
                        runs.append(run)
                    files[version] = output
                if old_module is not None:
                    same = same_but_exported_at(files[TREE], files[args.compare_with])
                    say(
                        f"{size:,} measures: the two files are "
                        f"{'the same text but for exported_at' if same else 'DIFFERENT'}"
                    )
                    if not same:
                        return 1
                for output in files.values():
                    output.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    indent = 2 if args.indent is None else args.indent
    print(f"manage.py export_data -o FILE (indent {indent}), {os.cpu_count()} cores")
    print(f"start-up alone (manage.py export_data --help): {startup or 0:.1f} s")
    print("peak MB: the kernel's peak RSS of the process; VmHWM MB: the highest sampled")
    print("load: the 1-minute load average when the run started")
    print(HEADER)
    for run in runs:
        print(run.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
