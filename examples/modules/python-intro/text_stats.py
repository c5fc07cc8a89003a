"""Text statistics – write your solution in this file.

The tests import the functions below, so keep their names and parameters.
Read the task instructions for the exact rules.
"""


def tokenize(text):
    """Return the words of `text` in order, in lowercase.

    >>> tokenize("Don't panic, Arthur!")
    ["don't", 'panic', 'arthur']
    """
    raise NotImplementedError("tokenize is not written yet")


def word_count(text):
    """Return the number of words in `text`.

    >>> word_count("one two  three")
    3
    """
    raise NotImplementedError("word_count is not written yet")


def most_common(text, n):
    """Return the `n` most frequent words as (word, count) tuples.

    Most frequent first; equal counts in alphabetical order.
    Raise ValueError if `n` is negative.

    >>> most_common("the cat and the hat and the bat", 2)
    [('the', 3), ('and', 2)]
    """
    raise NotImplementedError("most_common is not written yet")
