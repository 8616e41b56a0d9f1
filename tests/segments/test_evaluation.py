"""The transaction a full evaluation runs in (segments/conditions/evaluation.py)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.db.dialect import dialect
from segments.conditions.evaluation import full_evaluation


def test_a_full_evaluation_turns_jit_off_where_the_database_has_it(db):
    with CaptureQueriesContext(connection) as captured, full_evaluation():
        if dialect().jit_off_sql is not None:  # PostgreSQL: SET LOCAL, for this transaction
            with connection.cursor() as cursor:
                cursor.execute("SHOW jit")
                assert cursor.fetchone() == ("off",)
    issued = [query["sql"] for query in captured.captured_queries]
    expected = [dialect().jit_off_sql] if dialect().jit_off_sql else []
    assert [sql for sql in issued if not sql.startswith(("SAVEPOINT", "RELEASE", "SHOW"))] == (
        expected
    )


def test_a_full_evaluation_is_a_transaction(db):
    with full_evaluation():
        assert connection.in_atomic_block
