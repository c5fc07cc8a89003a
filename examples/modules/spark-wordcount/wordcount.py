"""Word count with Spark – write your solution in this file.

The tests call word_counts(spark, path) with a local SparkSession, so keep
the name and the parameters. Try your code with:

    python wordcount.py
"""

from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: F401  (you will need it)


def word_counts(spark, path):
    """Count the words in the text file (or folder of text files) at `path`.

    A word is a run of the letters a-z and digits 0-9 after lowercasing;
    every other character separates words.

    Return a list of (word, count) tuples, sorted by count (largest first)
    and then by word (alphabetically).
    """
    raise NotImplementedError("word_counts is not written yet")


if __name__ == "__main__":
    spark = SparkSession.builder.master("local[1]").appName("wordcount").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for word, count in word_counts(spark, "data/sample.txt")[:10]:
        print(f"{count:5d}  {word}")
    spark.stop()
