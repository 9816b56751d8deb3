"""Fixtures every test directory may use: ports, and the SQLite version in the header."""

from __future__ import annotations

import socket
import sqlite3

import pytest

from tests import postgres


def pytest_report_header(config: pytest.Config) -> str:
    return (f"sqlite: {sqlite3.sqlite_version}; server tests on {postgres.SERVER_BACKEND}"
            + (f" ({postgres.base_dsn()})" if postgres.SERVER_BACKEND == "postgres" else ""))


def pytest_sessionfinish(session: pytest.Session) -> None:
    postgres.drop_server_schemas()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def port() -> int:
    return free_port()
