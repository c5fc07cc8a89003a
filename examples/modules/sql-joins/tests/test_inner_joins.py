"""Tests for the inner-join task (hidden from students until tests run)."""

import inner_joins as q
from conftest import assert_rows


def test_enrollments(db):
    expected = [
        ("Ada Lovelace", "DB101", 92),
        ("Ada Lovelace", "PY101", 88),
        ("Alan Turing", "ALG201", 95),
        ("Alan Turing", "PY101", 75),
        ("Barbara Liskov", "DB101", None),
        ("Barbara Liskov", "PY101", 90),
        ("Edsger Dijkstra", "ALG201", 67),
        ("Grace Hopper", "ALG201", None),
        ("Grace Hopper", "DB101", 81),
    ]
    assert_rows(db.student_rows(q, "ENROLLMENTS_QUERY"), expected, "ENROLLMENTS_QUERY")


def test_enrollments_follow_the_data(db):
    # The query must work on other data too, not only on the rows above.
    db.execute("INSERT INTO enrollments (student_id, course_id, grade) VALUES (6, 4, 77)")
    rows = db.student_rows(q, "ENROLLMENTS_QUERY")
    assert ("Donald Knuth", "SPK301", 77) in rows
    assert len(rows) == 10


def test_db101_students(db):
    expected = [("Ada Lovelace",), ("Barbara Liskov",), ("Grace Hopper",)]
    assert_rows(db.student_rows(q, "DB101_STUDENTS_QUERY"), expected, "DB101_STUDENTS_QUERY")


def test_db101_students_follow_the_data(db):
    db.execute("INSERT INTO enrollments (student_id, course_id, grade) VALUES (7, 1, NULL)")
    db.execute("DELETE FROM enrollments WHERE student_id = 1 AND course_id = 1")
    expected = [("Barbara Liskov",), ("Grace Hopper",), ("Margaret Hamilton",)]
    assert_rows(db.student_rows(q, "DB101_STUDENTS_QUERY"), expected, "DB101_STUDENTS_QUERY")


def test_classmates(db):
    expected = [
        ("Ada Lovelace", "Alan Turing"),
        ("Ada Lovelace", "Barbara Liskov"),
        ("Ada Lovelace", "Grace Hopper"),
        ("Alan Turing", "Barbara Liskov"),
        ("Alan Turing", "Edsger Dijkstra"),
        ("Alan Turing", "Grace Hopper"),
        ("Barbara Liskov", "Grace Hopper"),
        ("Edsger Dijkstra", "Grace Hopper"),
    ]
    assert_rows(db.student_rows(q, "CLASSMATES_QUERY"), expected, "CLASSMATES_QUERY")
