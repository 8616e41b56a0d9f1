"""config/postgresql: Django's health check (`CONN_HEALTH_CHECKS`) without a round trip.

Always against the PostgreSQL server on 127.0.0.1 (also in the SQLite run of the suite): the
backend is what production uses, whatever the tests' default database is."""

import time

import dj_database_url
import psycopg
import pytest
from django.db.utils import ConnectionHandler

URL = "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def wrapper(django_db_blocker):
    settings = dj_database_url.parse(URL, conn_max_age=600, conn_health_checks=True)
    settings["ENGINE"] = "config.postgresql"
    connection = ConnectionHandler({"default": settings})["default"]
    with django_db_blocker.unblock():  # a connection of its own, not the test database's
        connection.ensure_connection()
        yield connection
        connection.close()


def _backend_pid(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_an_idle_healthy_connection_is_usable_without_a_round_trip(wrapper, tmp_path):
    _backend_pid(wrapper)  # a query done, the connection idle again
    trace = tmp_path / "protocol.trace"
    with trace.open("w") as out:
        wrapper.connection.pgconn.trace(out.fileno())
        try:
            assert wrapper.is_usable()
        finally:
            wrapper.connection.pgconn.untrace()
    assert trace.read_text() == ""  # libpq traced no message to or from the server


def test_a_connection_the_server_ended_is_not_usable_and_is_replaced(wrapper):
    pid = _backend_pid(wrapper)
    with psycopg.connect(URL, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    deadline = time.monotonic() + 5
    while wrapper.is_usable() and time.monotonic() < deadline:
        time.sleep(0.02)  # the server's goodbye is on its way
    assert not wrapper.is_usable()

    # What a request does first: the failed health check replaces the connection.
    wrapper.health_check_done = False
    assert _backend_pid(wrapper) != pid
