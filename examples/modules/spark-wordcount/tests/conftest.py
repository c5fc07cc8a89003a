"""Shared fixtures for the spark-wordcount tests: one local SparkSession."""

import re
from collections import Counter

import pytest


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("ope-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def reference_counts(text, stopwords=()):
    """Plain-Python word count, used to check results on larger files."""
    counts = Counter(w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in stopwords)
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


def as_pairs(result):
    """Turn the student's result into plain (str, int) tuples for comparing."""
    assert isinstance(result, list), f"expected a list, got {type(result).__name__}"
    return [(str(word), int(count)) for word, count in result]
