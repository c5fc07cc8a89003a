"""Task "left-join" – reference solution (never shown to students)."""

COURSE_COUNTS_QUERY = """
SELECT s.name, COUNT(e.course_id) AS courses
FROM students AS s
LEFT JOIN enrollments AS e ON e.student_id = s.id
GROUP BY s.id, s.name
ORDER BY courses DESC, s.name
"""

AVERAGE_GRADES_QUERY = """
SELECT c.code, COUNT(e.grade) AS graded, ROUND(AVG(e.grade), 1) AS average
FROM courses AS c
LEFT JOIN enrollments AS e ON e.course_id = c.id
GROUP BY c.id, c.code
ORDER BY c.code
"""

NOT_ENROLLED_QUERY = """
SELECT s.name
FROM students AS s
LEFT JOIN enrollments AS e ON e.student_id = s.id
WHERE e.student_id IS NULL
ORDER BY s.name
"""

EMPTY_COURSES_QUERY = """
SELECT c.code
FROM courses AS c
WHERE NOT EXISTS (SELECT 1 FROM enrollments AS e WHERE e.course_id = c.id)
ORDER BY c.code
"""
