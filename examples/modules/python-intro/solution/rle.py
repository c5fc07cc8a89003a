"""Run-length encoding – reference solution (never shown to students)."""

from itertools import groupby


def encode(text):
    """Return the run-length encoding of `text`."""
    if any(ch.isdigit() for ch in text):
        raise ValueError("text must not contain digits")
    parts = []
    for ch, run in groupby(text):
        length = sum(1 for _ in run)
        parts.append(ch if length == 1 else f"{length}{ch}")
    return "".join(parts)


def decode(code):
    """Turn a run-length encoded string back into the original text."""
    parts = []
    digits = ""
    for ch in code:
        if ch.isdigit():
            if not digits and ch == "0":
                raise ValueError("a length must not be 0 or start with 0")
            digits += ch
        else:
            parts.append(ch * (int(digits) if digits else 1))
            digits = ""
    if digits:
        raise ValueError("code ends with a length but no character")
    return "".join(parts)
