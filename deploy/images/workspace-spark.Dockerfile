# syntax=docker/dockerfile:1
# The spark kit's workspace: the python workspace plus PySpark in local mode and the Java it runs on
# (Spark 4 needs Java 17 or 21; Debian 12's headless JRE is 17). The `connect` extra brings pandas,
# pyarrow and grpc, as in scripts/requirements.txt, so toPandas() works.
# Build workspace-python first; BASE names it (a course's registry may differ):
#   docker build -f deploy/images/workspace-spark.Dockerfile -t ghcr.io/ope-dev/workspace-spark:0.1.0 .
ARG BASE=ghcr.io/ope-dev/workspace-python:0.1.0
FROM ${BASE}
USER 0
# The JRE's post-install step expects the man page folder, which slim images leave out. Versions are
# not pinned: Debian's stable archive replaces a version with each security fix, so a pin would stop
# building; the base image pins the release.
# hadolint ignore=DL3008
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir "pyspark[connect]>=4.0,<5"
# Spark in local mode on loopback with a JVM that starts fast: the settings the local backend gives
# every workspace (KitDefaults.spark), so that `docker run` behaves alike.
ENV SPARK_LOCAL_IP=127.0.0.1 \
    SPARK_SUBMIT_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
USER 1000:1000
