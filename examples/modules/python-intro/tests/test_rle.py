"""Tests for the run-length task (hidden from students until tests run)."""

import pytest

from rle import decode, encode


@pytest.mark.parametrize(
    "text, code",
    [
        ("aaabcc", "3ab2c"),
        ("abc", "abc"),
        ("wwwwwwwwwwwwx", "12wx"),
        ("  !!", "2 2!"),
        ("", ""),
        ("a", "a"),
        ("aa", "2a"),
        ("aAaa", "aA2a"),
        ("x" * 100, "100x"),
        ("\n\n\t", "2\n\t"),
    ],
)
def test_encode(text, code):
    assert encode(text) == code


@pytest.mark.parametrize(
    "text, code",
    [
        ("aaabcc", "3ab2c"),
        ("abc", "abc"),
        ("wwwwwwwwwwwwx", "12wx"),
        ("  !!", "2 2!"),
        ("", ""),
        ("x" * 100, "100x"),
    ],
)
def test_decode(text, code):
    assert decode(code) == text


def test_decode_accepts_split_runs():
    assert decode("2a3a") == "aaaaa"


@pytest.mark.parametrize("text", ["a1", "2", "abc9def"])
def test_encode_rejects_digits(text):
    with pytest.raises(ValueError):
        encode(text)


@pytest.mark.parametrize("code", ["3a2", "7", "0a", "03a", "a0b", "ab10"])
def test_decode_rejects_invalid(code):
    with pytest.raises(ValueError):
        decode(code)


@pytest.mark.parametrize(
    "text",
    [
        "aaabccddddde",
        "Mississippi",
        "hello,   world!!!",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "ab" * 20,
        "éééß",
    ],
)
def test_round_trip(text):
    assert decode(encode(text)) == text


def test_encoding_is_never_longer_than_the_text():
    for text in ["abcdef", "aabbcc", "a" * 9, "ab" * 5]:
        assert len(encode(text)) <= len(text)
