"""Opening URLs: what opens, and the errors for what cannot be opened.

Every error names the URL with its password masked and says what to do.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from pypet_rebuild import get_plugin_host
from pypet_rebuild.errors import MissingPluginError, StorageError
from pypet_rebuild.storage.records import TrajectoryInfo

from pypet_rebuild_sql import SQLBackend

SECRET = "s3cret-Pa55"


def _open(url: str, **options: object) -> SQLBackend:
    backend = get_plugin_host().open_storage(url, **options)
    assert isinstance(backend, SQLBackend)
    return backend


@pytest.mark.parametrize("suffix", [".db", ".sqlite"])
def test_plain_paths_with_sql_suffixes_open_sqlite_files(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "nested" / f"store{suffix}"
    with _open(str(path)) as backend:
        backend.create_trajectory(TrajectoryInfo("t", 1.0))
    assert path.is_file()
    with _open(f"sqlite:///{path}") as backend:
        assert [i.name for i in backend.list_trajectories()] == ["t"]


def test_a_folder_where_the_sqlite_file_should_be_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "folder.db").mkdir()
    with pytest.raises(StorageError, match="cannot open the SQLite database .*folder.db.*not a folder"):
        _open(str(tmp_path / "folder.db"))


def test_relative_sqlite_url_is_fixed_when_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    backend = _open("sqlite:///relative.db")
    monkeypatch.chdir(tmp_path.parent)  # a later chdir must not move the database
    backend.create_trajectory(TrajectoryInfo("t", 1.0))
    backend.close()
    assert (tmp_path / "relative.db").is_file()


def test_missing_driver_names_the_url_and_the_package_to_install() -> None:
    candidates = {"pg8000": "pg8000", "pymysql": "PyMySQL", "mysqlconnector": "mysql-connector-python"}
    modules = {"pg8000": "pg8000", "pymysql": "pymysql", "mysqlconnector": "mysql.connector"}
    missing = [d for d in candidates if importlib.util.find_spec(modules[d].split(".")[0]) is None]
    if not missing:
        pytest.skip("every candidate driver is installed here")
    driver = missing[0]
    dialect = "postgresql" if driver == "pg8000" else "mysql"
    url = f"{dialect}+{driver}://lab:{SECRET}@db.invalid/results"
    with pytest.raises(MissingPluginError) as raised:
        _open(url)
    message = str(raised.value)
    assert f"{dialect}+{driver}://lab:***@db.invalid/results" in message
    assert f"pip install '{candidates[driver]}'" in message
    assert SECRET not in message


def test_asynchronous_driver_is_refused_with_the_synchronous_alternative() -> None:
    with pytest.raises(StorageError) as raised:
        _open(f"postgresql+asyncpg://lab:{SECRET}@db.invalid/results")
    message = str(raised.value)
    assert "postgresql+psycopg2://" in message and "lab:***@" in message and SECRET not in message


def test_unknown_driver_is_a_missing_plugin() -> None:
    with pytest.raises(MissingPluginError, match="postgresql\\+nosuchdriver"):
        _open("postgresql+nosuchdriver://lab@db.invalid/results")


def test_unknown_engine_option_is_a_storage_error(sqlite_url: str) -> None:
    with pytest.raises(StorageError, match="no_such_option"):
        _open(sqlite_url, no_such_option=1)


def test_unreachable_server_is_named_with_the_password_masked(postgres_server: str) -> None:
    # A port on 127.0.0.1 that nothing listens on: refused at once.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg2://lab:{SECRET}@127.0.0.1:{port}/results"
    with pytest.raises(StorageError) as raised:
        _open(url)
    message = str(raised.value)
    assert f"lab:***@127.0.0.1:{port}/results" in message
    assert "cannot connect" in message and "running and reachable" in message
    assert SECRET not in message


def test_wrong_password_is_named_with_the_password_masked(postgres_password_url: str) -> None:
    with _open(postgres_password_url) as backend:  # the right password works
        assert backend.list_trajectories() == []
    wrong = make_url(postgres_password_url).set(password=SECRET).render_as_string(hide_password=False)
    with pytest.raises(StorageError) as raised:
        _open(wrong)
    message = str(raised.value)
    assert "password authentication failed" in message and "user and password" in message
    assert SECRET not in message and ":***@" in message


def test_postgres_alias_scheme_opens_postgresql(postgres_url: str) -> None:
    alias = postgres_url.replace("postgresql+psycopg2://", "postgres://", 1)
    with _open(alias) as backend:
        backend.create_trajectory(TrajectoryInfo("t", 1.0))
    with _open(postgres_url) as backend:
        assert [i.name for i in backend.list_trajectories()] == ["t"]


def test_storage_errors_during_use_name_the_url_and_mask_the_password(postgres_password_url: str) -> None:
    backend = _open(postgres_password_url)
    backend.create_trajectory(TrajectoryInfo("t", 1.0))
    # Another client takes the role's rights away while the backend is open.
    admin = sa.create_engine(make_url(postgres_password_url).set(username="postgres", password=None),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql("REVOKE ALL ON pypet_trajectories FROM pypet_password_user")
    try:
        with pytest.raises(StorageError) as raised:
            backend.list_trajectories()
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql("GRANT ALL ON pypet_trajectories TO pypet_password_user")
        admin.dispose()
        backend.close()
    message = str(raised.value)
    assert "permission denied" in message and "listing trajectories" in message
    assert ":***@" in message and "correct-horse" not in message
