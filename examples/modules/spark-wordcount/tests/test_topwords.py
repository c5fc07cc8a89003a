"""Tests for the top-words task (hidden from students until tests run)."""

from pathlib import Path

import pytest

from conftest import as_pairs, reference_counts
from topwords import top_words

SAMPLE = Path("data/sample.txt")
STOPWORDS = Path("data/stopwords.txt")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def read_stopwords(path):
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip().lower()
        if line and not line.startswith("#"):
            words.add(line)
    return words


def test_sample_top_ten(spark):
    assert SAMPLE.exists() and STOPWORDS.exists(), "data/ files are missing from the workspace"
    expected = reference_counts(SAMPLE.read_text(encoding="utf-8"), read_stopwords(STOPWORDS))[:10]
    assert as_pairs(top_words(spark, str(SAMPLE), 10, str(STOPWORDS))) == expected


def test_stop_words_are_removed(spark, tmp_path):
    text = write(tmp_path, "t.txt", "The cat and the hat. The end.")
    stop = write(tmp_path, "stop.txt", "the\nand\n")
    assert as_pairs(top_words(spark, text, 5, stop)) == [("cat", 1), ("end", 1), ("hat", 1)]


def test_comments_blank_lines_and_case_in_stopword_file(spark, tmp_path):
    text = write(tmp_path, "t.txt", "the cat and the hat and the bat")
    stop = write(tmp_path, "stop.txt", "# the\n\nAND\n")
    # "the" is only in a comment, so it is not a stop word; "AND" matches "and"
    assert as_pairs(top_words(spark, text, 2, stop)) == [("the", 3), ("bat", 1)]


def test_n_larger_than_vocabulary(spark, tmp_path):
    text = write(tmp_path, "t.txt", "b a b")
    stop = write(tmp_path, "stop.txt", "")
    assert as_pairs(top_words(spark, text, 50, stop)) == [("b", 2), ("a", 1)]


def test_n_zero(spark, tmp_path):
    text = write(tmp_path, "t.txt", "b a b")
    stop = write(tmp_path, "stop.txt", "x\n")
    assert as_pairs(top_words(spark, text, 0, stop)) == []


def test_negative_n(spark, tmp_path):
    text = write(tmp_path, "t.txt", "b a b")
    stop = write(tmp_path, "stop.txt", "x\n")
    with pytest.raises(ValueError):
        top_words(spark, text, -1, stop)


def test_everything_is_a_stop_word(spark, tmp_path):
    text = write(tmp_path, "t.txt", "to be or not to be")
    stop = write(tmp_path, "stop.txt", "to\nbe\nor\nnot\n")
    assert as_pairs(top_words(spark, text, 3, stop)) == []
