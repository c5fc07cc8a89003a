"""Word count with Spark – reference solution (never shown to students)."""

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def words(spark, path):
    """A DataFrame with one column `word`, one row per word occurrence."""
    lines = spark.read.text(path)  # one row per line, column "value"
    return (
        lines.select(F.explode(F.split(F.lower(F.col("value")), "[^a-z0-9]+")).alias("word"))
        .where(F.col("word") != "")
    )


def word_counts(spark, path):
    """Count the words in the text file (or folder of text files) at `path`."""
    counts = (
        words(spark, path)
        .groupBy("word")
        .count()
        .orderBy(F.col("count").desc(), F.col("word").asc())
    )
    return [(row["word"], row["count"]) for row in counts.collect()]


if __name__ == "__main__":
    spark = SparkSession.builder.master("local[1]").appName("wordcount").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for word, count in word_counts(spark, "data/sample.txt")[:10]:
        print(f"{count:5d}  {word}")
    spark.stop()
