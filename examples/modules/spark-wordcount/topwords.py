"""Top words without stop words – write your solution in this file.

The tests call top_words(spark, path, n, stopwords_path) with a local
SparkSession, so keep the name and the parameters. Try your code with:

    python topwords.py
"""

from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: F401  (you will need it)


def top_words(spark, path, n, stopwords_path):
    """Return the `n` most frequent words in `path` that are not stop words.

    Words are counted exactly as in word_counts (task 1). The file at
    `stopwords_path` has one stop word per line; empty lines and lines
    starting with '#' are ignored.

    Return a list of at most `n` (word, count) tuples, sorted by count
    (largest first) and then by word. Raise ValueError if `n` is negative.
    """
    raise NotImplementedError("top_words is not written yet")


if __name__ == "__main__":
    spark = SparkSession.builder.master("local[1]").appName("topwords").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for word, count in top_words(spark, "data/sample.txt", 10, "data/stopwords.txt"):
        print(f"{count:5d}  {word}")
    spark.stop()
