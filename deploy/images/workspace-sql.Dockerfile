# syntax=docker/dockerfile:1
# The sql kit's workspace: the python workspace plus what the sql kit uses to reach the team's MariaDB
# database: PyMySQL (the task tests' conftest.py connects with it), JupySQL for `%%sql` cells (it
# connects to $DATABASE_URL), and the `mariadb` command-line client for a terminal (it reads the
# team's .my.cnf). The database server is not in this image: the kit gives each team a database
# of its own elsewhere and passes OPE_DB_* and DATABASE_URL to the workspace.
# Build workspace-python first; BASE names it (a course's registry may differ):
#   docker build -f deploy/images/workspace-sql.Dockerfile -t ghcr.io/ope-dev/workspace-sql:0.1.0 .
ARG BASE=ghcr.io/ope-dev/workspace-python:0.1.0
FROM ${BASE}
USER 0
# Versions are not pinned: Debian's stable archive replaces a version with each security fix, so a
# pin would stop building; the base image pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends mariadb-client \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir \
        "pymysql>=1.2,<2" \
        "jupysql>=0.11,<0.12"
USER 1000:1000
