"""Top words without stop words – reference solution (never shown to students)."""

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def top_words(spark, path, n, stopwords_path):
    """Return the `n` most frequent words in `path` that are not stop words."""
    if n < 0:
        raise ValueError("n must not be negative")
    if n == 0:
        return []
    stopwords = (
        spark.read.text(stopwords_path)
        .select(F.lower(F.trim(F.col("value"))).alias("word"))
        .where((F.col("word") != "") & ~F.col("word").startswith("#"))
    )
    words = (
        spark.read.text(path)
        .select(F.explode(F.split(F.lower(F.col("value")), "[^a-z0-9]+")).alias("word"))
        .where(F.col("word") != "")
    )
    top = (
        words.join(stopwords, on="word", how="left_anti")
        .groupBy("word")
        .count()
        .orderBy(F.col("count").desc(), F.col("word").asc())
        .limit(n)
    )
    return [(row["word"], row["count"]) for row in top.collect()]


if __name__ == "__main__":
    spark = SparkSession.builder.master("local[1]").appName("topwords").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for word, count in top_words(spark, "data/sample.txt", 10, "data/stopwords.txt"):
        print(f"{count:5d}  {word}")
    spark.stop()
