-- Small example database for the sql-joins module.
-- Running this file again resets the three tables to exactly this data.
-- Works with MariaDB (and, for a quick local try, with SQLite).

DROP TABLE IF EXISTS enrollments;
DROP TABLE IF EXISTS courses;
DROP TABLE IF EXISTS students;

CREATE TABLE students (
    id     INT PRIMARY KEY,
    name   VARCHAR(50) NOT NULL,
    cohort CHAR(1)     NOT NULL
);

CREATE TABLE courses (
    id      INT PRIMARY KEY,
    code    VARCHAR(10) NOT NULL UNIQUE,
    title   VARCHAR(80) NOT NULL,
    credits INT         NOT NULL
);

-- One row per student taking a course. grade is NULL while the course is
-- still running (no grade yet).
CREATE TABLE enrollments (
    student_id INT NOT NULL,
    course_id  INT NOT NULL,
    grade      INT NULL,
    PRIMARY KEY (student_id, course_id),
    FOREIGN KEY (student_id) REFERENCES students (id),
    FOREIGN KEY (course_id) REFERENCES courses (id)
);

INSERT INTO students (id, name, cohort) VALUES
    (1, 'Ada Lovelace', 'A'),
    (2, 'Alan Turing', 'A'),
    (3, 'Grace Hopper', 'B'),
    (4, 'Edsger Dijkstra', 'B'),
    (5, 'Barbara Liskov', 'A'),
    (6, 'Donald Knuth', 'B'),
    (7, 'Margaret Hamilton', 'A');

INSERT INTO courses (id, code, title, credits) VALUES
    (1, 'DB101', 'Databases', 5),
    (2, 'PY101', 'Programming in Python', 5),
    (3, 'ALG201', 'Algorithms', 6),
    (4, 'SPK301', 'Big Data with Spark', 4);

INSERT INTO enrollments (student_id, course_id, grade) VALUES
    (1, 1, 92),
    (1, 2, 88),
    (2, 2, 75),
    (2, 3, 95),
    (3, 1, 81),
    (3, 3, NULL),
    (4, 3, 67),
    (5, 1, NULL),
    (5, 2, 90);
