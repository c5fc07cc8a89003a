"""Task "inner-join" – reference solution (never shown to students)."""

ENROLLMENTS_QUERY = """
SELECT s.name, c.code, e.grade
FROM enrollments AS e
JOIN students AS s ON s.id = e.student_id
JOIN courses AS c ON c.id = e.course_id
ORDER BY s.name, c.code
"""

DB101_STUDENTS_QUERY = """
SELECT s.name
FROM students AS s
JOIN enrollments AS e ON e.student_id = s.id
JOIN courses AS c ON c.id = e.course_id
WHERE c.code = 'DB101'
ORDER BY s.name
"""

CLASSMATES_QUERY = """
SELECT DISTINCT s1.name AS first_name, s2.name AS second_name
FROM enrollments AS e1
JOIN enrollments AS e2 ON e2.course_id = e1.course_id
JOIN students AS s1 ON s1.id = e1.student_id
JOIN students AS s2 ON s2.id = e2.student_id
WHERE s1.name < s2.name
ORDER BY first_name, second_name
"""
