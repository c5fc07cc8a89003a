"""Tests for the word-count task (hidden from students until tests run)."""

from pathlib import Path

from conftest import as_pairs, reference_counts
from wordcount import word_counts

SAMPLE = Path("data/sample.txt")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_sample_file(spark):
    assert SAMPLE.exists(), "data/sample.txt is missing from the workspace"
    expected = reference_counts(SAMPLE.read_text(encoding="utf-8"))
    assert as_pairs(word_counts(spark, str(SAMPLE))) == expected


def test_returns_list_of_pairs(spark, tmp_path):
    result = word_counts(spark, write(tmp_path, "t.txt", "b a b"))
    assert isinstance(result, list)
    assert all(len(item) == 2 for item in result)
    word, count = result[0]
    assert isinstance(word, str) and isinstance(count, int)


def test_case_and_punctuation(spark, tmp_path):
    path = write(tmp_path, "t.txt", "Hello, hello! HELLO? world.\n")
    assert as_pairs(word_counts(spark, path)) == [("hello", 3), ("world", 1)]


def test_ties_are_sorted_by_word(spark, tmp_path):
    path = write(tmp_path, "t.txt", "b a c\nb a c d\n")
    assert as_pairs(word_counts(spark, path)) == [("a", 2), ("b", 2), ("c", 2), ("d", 1)]


def test_separators(spark, tmp_path):
    path = write(tmp_path, "t.txt", "snake_case R2-D2 don't\ttab--dash")
    expected = [("case", 1), ("d2", 1), ("dash", 1), ("don", 1), ("r2", 1),
                ("snake", 1), ("t", 1), ("tab", 1)]
    assert as_pairs(word_counts(spark, path)) == expected


def test_numbers_are_words(spark, tmp_path):
    path = write(tmp_path, "t.txt", "1 2 2 10 2024")
    assert as_pairs(word_counts(spark, path)) == [("2", 2), ("1", 1), ("10", 1), ("2024", 1)]


def test_blank_and_leading_space_lines(spark, tmp_path):
    path = write(tmp_path, "t.txt", "\n\n   spark   \n\n  SPARK!\n\n")
    assert as_pairs(word_counts(spark, path)) == [("spark", 2)]


def test_empty_file(spark, tmp_path):
    assert as_pairs(word_counts(spark, write(tmp_path, "empty.txt", ""))) == []


def test_only_punctuation(spark, tmp_path):
    assert as_pairs(word_counts(spark, write(tmp_path, "p.txt", "... !!! -- ?"))) == []


def test_folder_of_files(spark, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    write(folder, "part1.txt", "red green red\n")
    write(folder, "part2.txt", "green red blue\n")
    expected = [("red", 3), ("green", 2), ("blue", 1)]
    assert as_pairs(word_counts(spark, str(folder))) == expected
