"""Task "inner-join": write one SQL query into each string below.

The tests run every query against a fresh copy of the data in schema.sql and
compare the rows, *in order*, with the expected result. So:
  - select exactly the columns asked for, in that order,
  - always add the ORDER BY that is asked for.

Tip: try each query first in the SQL console, then paste it here.
"""

# 1. Every enrollment: student name, course code and grade.
#    Columns: name, code, grade
#    Order:   by student name, then by course code.
ENROLLMENTS_QUERY = """
"""

# 2. The names of all students enrolled in the course with code 'DB101'.
#    Columns: name
#    Order:   by name.
DB101_STUDENTS_QUERY = """
"""

# 3. Every pair of students who take at least one course together.
#    Each pair appears once, with the alphabetically smaller name first.
#    Columns: first_name, second_name
#    Order:   by first_name, then second_name.
CLASSMATES_QUERY = """
"""
