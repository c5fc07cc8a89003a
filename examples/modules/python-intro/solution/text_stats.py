"""Text statistics – reference solution (never shown to students)."""

import re
from collections import Counter

# A word: letters/digits, optionally joined by single apostrophes ("don't").
# [^\W_] is "a word character that is not an underscore", i.e. letter or digit.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokenize(text):
    """Return the words of `text` in order, in lowercase."""
    return [word.lower() for word in _WORD.findall(text)]


def word_count(text):
    """Return the number of words in `text`."""
    return len(tokenize(text))


def most_common(text, n):
    """Return the `n` most frequent words as (word, count) tuples."""
    if n < 0:
        raise ValueError("n must not be negative")
    counts = Counter(tokenize(text))
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return ranked[:n]
