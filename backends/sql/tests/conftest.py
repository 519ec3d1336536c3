"""Fixtures for the SQL backend's tests: SQLite files and a real PostgreSQL.

PostgreSQL comes from, in this order:

1. ``PYPET_REBUILD_POSTGRES_URL``: an existing server (the URL's user needs
   CREATEDB); each test gets its own database, dropped afterwards;
2. a throw-away cluster made for this test session with the server binaries
   under ``/usr/lib/postgresql/*/bin`` (``bash .ci/postgres.sh`` installs them),
   run as the ``postgres`` system user when the tests run as root, listening
   on 127.0.0.1 only, and deleted at the end.

Without either, PostgreSQL tests are skipped with the reason shown, except
under CI (``CI=true``), where that is a failure: CI must test the server.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from pypet_rebuild import TrajectoryInfo, get_plugin_host
from pypet_rebuild_sql.backend import SQLBackend

POSTGRES_URL_ENV = "PYPET_REBUILD_POSTGRES_URL"
PASSWORD_USER = "pypet_password_user"
PASSWORD = "correct-horse"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _server_binaries() -> Path | None:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        on_path = shutil.which("initdb")
        return Path(on_path).parent if on_path else None
    newest = max(found, key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return Path(newest).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *command]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{part}'" for part in command)]


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _start_cluster(bindir: Path, root: Path) -> int:
    data = root / "data"
    _run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                          "--no-sync"]))
    # One password-checked user, to test what a wrong password gives; everyone
    # else is trusted, which is fine for a cluster that only listens on 127.0.0.1.
    (data / "pg_hba.conf").write_text(
        f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n"
    )
    settings = ("-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
    last_error: Exception | None = None
    for _ in range(3):  # another program may take the free port before the server does
        port = _free_port()
        try:
            _run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
                                  "-t", "60", "-o", f"-p {port} {settings}", "start"]))
            return port
        except RuntimeError as exc:
            last_error = exc
    raise RuntimeError(f"could not start PostgreSQL: {last_error}\n{(root / 'server.log').read_text()}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The admin URL of a PostgreSQL server for this test session."""
    external = os.environ.get(POSTGRES_URL_ENV)
    if external:
        url = make_url(external)
        if url.drivername in ("postgres", "postgresql"):  # the tests' own engines use psycopg2
            url = url.set(drivername="postgresql+psycopg2")
        yield url.render_as_string(hide_password=False)
        return
    bindir = _server_binaries()
    if bindir is None:
        _unavailable("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin; install them with "
                     f"`bash .ci/postgres.sh` (as root) or set {POSTGRES_URL_ENV}")
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="pypet-rebuild-postgres-"))
    if os.geteuid() == 0:
        try:
            shutil.chown(root, "postgres", "postgres")
        except LookupError:
            shutil.rmtree(root)
            _unavailable("running as root but there is no 'postgres' system user to run the server as")
    try:
        port = _start_cluster(bindir, root)
    except RuntimeError as exc:
        shutil.rmtree(root, ignore_errors=True)
        _unavailable(str(exc))
    url = f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    try:
        yield url
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w",
                                        "stop"]), capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_admin(postgres_server: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    yield engine
    engine.dispose()


@contextlib.contextmanager
def _database(server_url: str, admin: sa.Engine) -> Iterator[str]:
    name = f"pypet_test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_server: str, postgres_admin: sa.Engine) -> Iterator[str]:
    """A new, empty database on the test server, dropped after the test."""
    with _database(postgres_server, postgres_admin) as url:
        yield url


@pytest.fixture(scope="module")
def postgres_module_database(postgres_server: str, postgres_admin: sa.Engine) -> Iterator[str]:
    with _database(postgres_server, postgres_admin) as url:
        yield url


@pytest.fixture
def postgres_emptied_url(postgres_module_database: str) -> Iterator[str]:
    """A database of this test module, emptied of pypet-rebuild rows after
    each test: creating a database per test would cost the suite a minute."""
    yield postgres_module_database
    engine = sa.create_engine(postgres_module_database, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            ours = [name for name in sa.inspect(connection).get_table_names()
                    if name.startswith("pypet_") and name != "pypet_schema"]
            if ours:
                connection.exec_driver_sql(f"TRUNCATE {', '.join(ours)} RESTART IDENTITY CASCADE")
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_password_url(postgres_server: str, postgres_admin: sa.Engine) -> Iterator[str]:
    """A URL with the right password for a user the server checks passwords of,
    to a database that user owns (only on the throw-away cluster, whose
    pg_hba.conf this suite wrote)."""
    if os.environ.get(POSTGRES_URL_ENV):
        pytest.skip(f"password checks are tested on the throw-away cluster, not on {POSTGRES_URL_ENV}")
    database = f"{PASSWORD_USER}_db"
    with postgres_admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'")
        connection.exec_driver_sql(f"CREATE DATABASE {database} OWNER {PASSWORD_USER}")
    yield make_url(postgres_server).set(username=PASSWORD_USER, password=PASSWORD, database=database).render_as_string(
        hide_password=False
    )
    with postgres_admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE {database} WITH (FORCE)")
        connection.exec_driver_sql(f"DROP ROLE {PASSWORD_USER}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request: pytest.FixtureRequest) -> str:
    """An empty location on each database this backend is tested on (on
    PostgreSQL, a database shared by the tests of a module, emptied after each)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_emptied_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_new_url(request: pytest.FixtureRequest) -> str:
    """A database no one has opened yet, on each database this backend is tested on."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def backend(any_url: str) -> Iterator[SQLBackend]:
    """An opened backend on each tested database holding an empty trajectory ``t``."""
    opened = get_plugin_host().open_storage(any_url)
    assert isinstance(opened, SQLBackend)
    opened.create_trajectory(TrajectoryInfo("t", 1.0))
    yield opened
    opened.close()
