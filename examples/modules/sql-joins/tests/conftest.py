"""Shared test helpers for the sql-joins module.

Connects to the group's MariaDB database using the environment variables
that OPE sets for the sql kit, and reloads tests/schema.sql (a hidden copy of
the starter schema.sql) before every test so that every run sees the same data.
"""

import os
from decimal import Decimal
from pathlib import Path

import pytest

SCHEMA = Path(__file__).with_name("schema.sql")


def _connect():
    try:
        import pymysql
    except ImportError:  # pragma: no cover - depends on the kit image
        pytest.fail("the Python package 'pymysql' is not installed in this workspace")

    if not os.environ.get("OPE_DB_NAME"):
        pytest.fail("OPE_DB_NAME is not set: these tests must be run by OPE (Run tests)")

    options = {
        "user": os.environ.get("OPE_DB_USER", "root"),
        "password": os.environ.get("OPE_DB_PASSWORD", ""),
        "database": os.environ["OPE_DB_NAME"],
        "charset": "utf8mb4",
        "autocommit": True,
    }
    socket = os.environ.get("OPE_DB_SOCKET")
    if socket:
        options["unix_socket"] = socket
    else:
        options["host"] = os.environ.get("OPE_DB_HOST", "127.0.0.1")
        options["port"] = int(os.environ.get("OPE_DB_PORT", "3306"))
    try:
        return pymysql.connect(**options)
    except pymysql.err.OperationalError as error:
        pytest.fail(f"cannot connect to the group's database: {error}")


def split_statements(script):
    """Split an SQL script into statements (no ';' inside strings, please)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    for statement in "\n".join(lines).split(";"):
        if statement.strip():
            yield statement.strip()


def _normalize(value):
    # MariaDB returns DECIMAL for AVG/ROUND; compare those as plain numbers.
    if isinstance(value, Decimal):
        return float(value)
    return value


class Database:
    def __init__(self, connection):
        self.connection = connection

    def execute(self, sql, params=None):
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params) if params is not None else cursor.execute(sql)
        finally:
            cursor.close()

    def rows(self, sql):
        """Run a query and return its rows as a list of tuples."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            return [tuple(_normalize(v) for v in row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def student_rows(self, module, name):
        """Run the query stored in `module.name`, with a clear error if unusable."""
        query = getattr(module, name, None)
        if not isinstance(query, str) or not query.strip():
            pytest.fail(f"{name} in {module.__name__}.py is still empty - write your query there")
        query = query.strip().rstrip(";").strip()
        try:
            return self.rows(query)
        except Exception as error:  # show the database's own message to the students
            pytest.fail(f"{name} could not be run: {error}")


@pytest.fixture
def db():
    connection = _connect()
    database = Database(connection)
    for statement in split_statements(SCHEMA.read_text(encoding="utf-8")):
        database.execute(statement)
    try:
        yield database
    finally:
        connection.close()


def assert_rows(actual, expected, name):
    """Compare query results row by row, with messages students can act on."""
    if actual and expected and len(actual[0]) != len(expected[0]):
        pytest.fail(
            f"{name}: your query returns {len(actual[0])} column(s), "
            f"expected {len(expected[0])}: check the SELECT list"
        )
    if len(actual) != len(expected):
        pytest.fail(
            f"{name}: your query returns {len(actual)} row(s), expected {len(expected)}.\n"
            f"  got:      {actual}\n  expected: {expected}"
        )
    if sorted(actual, key=repr) == sorted(expected, key=repr) and actual != expected:
        pytest.fail(f"{name}: the rows are right but the order is not - check ORDER BY")
    assert actual == expected, f"{name}: wrong result"
