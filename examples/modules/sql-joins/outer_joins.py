"""Task "left-join": write one SQL query into each string below.

The tests run every query against a fresh copy of the data in schema.sql and
compare the rows, *in order*, with the expected result. So:
  - select exactly the columns asked for, in that order,
  - always add the ORDER BY that is asked for.

Tip: try each query first in the SQL console, then paste it here.
"""

# 1. Every student with the number of courses they take (0 included).
#    Columns: name, courses
#    Order:   by courses, largest first; then by name.
COURSE_COUNTS_QUERY = """
"""

# 2. Every course with the number of *graded* enrollments and the average
#    grade, rounded to one decimal (NULL if the course has no grades yet).
#    Columns: code, graded, average
#    Order:   by code.
AVERAGE_GRADES_QUERY = """
"""

# 3. The names of all students who take no course at all.
#    Columns: name
#    Order:   by name.
NOT_ENROLLED_QUERY = """
"""

# 4. The codes of all courses that nobody takes.
#    Columns: code
#    Order:   by code.
EMPTY_COURSES_QUERY = """
"""
