"""Tests for the left-join task (hidden from students until tests run)."""

import outer_joins as q
from conftest import assert_rows


def test_course_counts(db):
    expected = [
        ("Ada Lovelace", 2),
        ("Alan Turing", 2),
        ("Barbara Liskov", 2),
        ("Grace Hopper", 2),
        ("Edsger Dijkstra", 1),
        ("Donald Knuth", 0),
        ("Margaret Hamilton", 0),
    ]
    assert_rows(db.student_rows(q, "COURSE_COUNTS_QUERY"), expected, "COURSE_COUNTS_QUERY")


def test_average_grades(db):
    expected = [
        ("ALG201", 2, 81.0),
        ("DB101", 2, 86.5),
        ("PY101", 3, 84.3),
        ("SPK301", 0, None),
    ]
    assert_rows(db.student_rows(q, "AVERAGE_GRADES_QUERY"), expected, "AVERAGE_GRADES_QUERY")


def test_not_enrolled(db):
    expected = [("Donald Knuth",), ("Margaret Hamilton",)]
    assert_rows(db.student_rows(q, "NOT_ENROLLED_QUERY"), expected, "NOT_ENROLLED_QUERY")


def test_not_enrolled_follows_the_data(db):
    db.execute("INSERT INTO enrollments (student_id, course_id, grade) VALUES (7, 4, NULL)")
    expected = [("Donald Knuth",)]
    assert_rows(db.student_rows(q, "NOT_ENROLLED_QUERY"), expected, "NOT_ENROLLED_QUERY")


def test_empty_courses(db):
    expected = [("SPK301",)]
    assert_rows(db.student_rows(q, "EMPTY_COURSES_QUERY"), expected, "EMPTY_COURSES_QUERY")


def test_empty_courses_follow_the_data(db):
    db.execute("INSERT INTO enrollments (student_id, course_id, grade) VALUES (6, 4, NULL)")
    db.execute("DELETE FROM enrollments WHERE course_id = 2")
    expected = [("PY101",)]
    assert_rows(db.student_rows(q, "EMPTY_COURSES_QUERY"), expected, "EMPTY_COURSES_QUERY")
