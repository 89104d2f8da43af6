"""The Databricks solution's streaming job: the scenarios of scenarios.py in Spark Structured
Streaming, as its Delta Live Tables pipeline read them: raw Kafka records from Event Hubs, the
value decoded (JSON bytes, or base64 of them), then every output.

On Databricks the records come from Event Hubs' Kafka endpoint (`kafka_source`; `main` is the job
terraform/modules/databricks deploys); in CI they come from JSON-lines files of the same records
(`file_source`, written by `export_records`) and run on local PySpark, and a test checks every
output against the local engine's on the same events.
Arrival time (the Kafka timestamp, i.e. enqueued time) is the stream's time, as the original ran.

Spark's own rules where they differ from Stream Analytics: windows and ISFIRST intervals are
emitted when Spark's watermark (the newest time seen, not each partition's) passes their end, and
a tumbling window is [start, end) in Spark, so events are windowed 1 ms earlier to get (start, end].
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from dagster_project.streaming.scenarios import (
    CORRELATION_MINUTES,
    DLT_HIGH_LATENCY_MS,
    ENRICHING_USER_FIELDS,
    FIRST_EVENT_INTERVAL_MINUTES,
    HIGH_LATENCY_MS,
    HTTP_METHOD_WINDOW_MINUTES,
    OUTPUTS,
)

RECORD_SCHEMA = "topic STRING, partition INT, offset BIGINT, timestamp TIMESTAMP, value STRING"
PAGEVIEW_SCHEMA = ("event_id STRING, event_time STRING, user_id BIGINT, http_method STRING, uri STRING, "
                   "client_ip STRING, user_agent STRING, latency DOUBLE")
STAR_SCHEMA = "event_id STRING, event_time STRING, user_id BIGINT, stars BIGINT"
USERS_SCHEMA = ", ".join(["id BIGINT", *(f"{name} STRING" for name in ENRICHING_USER_FIELDS)])


def local_spark(warehouse: Path | str, jars: str | None = None) -> SparkSession:
    """PySpark on this machine, as the tests and the local runs of the Databricks jobs use it."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # Python functions run where pandas and DuckDB are
    builder = (SparkSession.builder.master("local[2]").appName("playground")
               .config("spark.sql.shuffle.partitions", "2")  # state stores per stateful operator
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.warehouse.dir", str(warehouse))
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false"))
    if jars:  # a JDBC driver
        builder = builder.config("spark.jars", jars)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")  # not Spark's warnings about folders it is about to create
    return spark


def export_records(log: object, folder: Path, files: int = 4) -> None:
    """The embedded log's events as Kafka records in JSON lines (value base64), `files` files per
    topic in arrival order, so that the file source reads them as several micro-batches."""
    from playground.io.bus.embedded import EmbeddedLog

    assert isinstance(log, EmbeddedLog)
    for topic in ("pageviews", "stars"):
        records = sorted((r.enqueued_time, r.partition, r.sequence_number, r) for p in log.partitions(topic)
                         for r in log.read(topic, p, 0, limit=10**9))
        (folder / topic).mkdir(parents=True, exist_ok=True)
        size = -(-len(records) // files) if records else 1
        for n in range(0, len(records), size):
            with open(folder / topic / f"part-{n // size:04d}.json", "w") as out:
                for enqueued, partition, _, r in records[n: n + size]:
                    out.write(json.dumps({"topic": topic, "partition": partition, "offset": r.offset,
                                          "timestamp": enqueued, "value": base64.b64encode(r.body).decode()})
                              + "\n")


def file_source(spark: SparkSession, folder: Path, topic: str) -> DataFrame:
    """Kafka records from JSON-lines files (timestamp in epoch ms), a file per micro-batch."""
    return (spark.readStream.schema(RECORD_SCHEMA.replace("timestamp TIMESTAMP", "timestamp BIGINT"))
            .option("maxFilesPerTrigger", 1).json(str(folder / topic))
            .withColumn("timestamp", F.timestamp_millis("timestamp")))


def kafka_source(spark: SparkSession, bootstrap: str, topic: str, jaas: str) -> DataFrame:
    """Event Hubs' Kafka endpoint (on Databricks, where the Kafka connector is on the cluster)."""
    return (spark.readStream.format("kafka").option("kafka.bootstrap.servers", bootstrap).option("subscribe", topic)
            .option("kafka.security.protocol", "SASL_SSL").option("kafka.sasl.mechanism", "PLAIN")
            .option("kafka.sasl.jaas.config", jaas).option("startingOffsets", "earliest").load()
            .select("topic", "partition", "offset", "timestamp",
                    F.base64("value").alias("value")))


def _decoded(value: Column) -> Column:
    """JSON text from a record value: JSON as it is, else base64 of JSON."""
    return F.when(F.ltrim(value).startswith("{"), value).otherwise(F.unbase64(value).cast("string"))


def parse(records: DataFrame, schema: str) -> DataFrame:
    """parsed_pageviews / parsed_stars: the Kafka columns and the event's fields; records that do not
    parse or lack their keys are left out (the DLT pipeline's expectation)."""
    fields = [f.split()[0] for f in schema.split(", ")]
    return (records.select(F.col("topic").alias("kafka_topic"), F.col("partition").alias("kafka_partition"),
                           F.col("offset").alias("kafka_offset"), F.col("timestamp").alias("kafka_timestamp"),
                           F.from_json(_decoded(F.col("value")), schema).alias("event"))
            .select("kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp",
                    *[F.col(f"event.{f}").alias(f) for f in fields])
            .where("event_id IS NOT NULL AND user_id IS NOT NULL"))


def outputs(spark: SparkSession, pageview_records: DataFrame, star_records: DataFrame, reference: Path | str
            ) -> dict[str, DataFrame]:
    """Every output as a streaming DataFrame, named as the local engine's assets."""
    pv = parse(pageview_records, PAGEVIEW_SCHEMA)
    st = parse(star_records, STAR_SCHEMA)
    raw_pv = pv.select("*", F.col("kafka_timestamp").alias("event_timestamp"),
                       F.col("kafka_partition").alias("partition_id"), F.col("kafka_offset").alias("byte_offset"))
    raw_st = st.select("*", F.col("kafka_timestamp").alias("event_timestamp"),
                       F.col("kafka_partition").alias("partition_id"), F.col("kafka_offset").alias("byte_offset"))
    vip = spark.read.schema("id BIGINT").json(f"{reference}/vipusers")
    users = spark.read.schema(USERS_SCHEMA).json(f"{reference}/users").where("id IS NOT NULL")
    slow = raw_pv.where(F.col("latency") > HIGH_LATENCY_MS)

    # 15-minute join: both sides watermarked so Spark can drop state (at arrival time nothing is late).
    left = raw_pv.select("user_id", F.col("event_id").alias("pageview_event_id"),
                         F.col("event_timestamp").alias("pageview_time"), "http_method", "uri") \
        .withWatermark("pageview_time", "0 seconds")
    right = raw_st.select(F.col("user_id").alias("star_user_id"), F.col("event_id").alias("star_event_id"),
                          F.col("event_timestamp").alias("star_time"), "stars") \
        .withWatermark("star_time", "0 seconds")
    correlation = left.join(right, F.expr(
        f"user_id = star_user_id AND star_time >= pageview_time "
        f"AND star_time <= pageview_time + INTERVAL {CORRELATION_MINUTES} MINUTES")) \
        .select("user_id", "pageview_event_id", "pageview_time", "http_method", "uri", "star_event_id", "star_time",
                "stars", (F.col("star_time").cast("double") - F.col("pageview_time").cast("double"))
                .alias("seconds_between"))

    # (start, end] windows: Spark's are [start, end), so window 1 ms before the event's time.
    shifted = raw_pv.withColumn("window_time", F.col("event_timestamp") - F.expr("INTERVAL 1 MILLISECOND")) \
        .withWatermark("window_time", "0 seconds")
    agg = shifted.groupBy(F.window("window_time", f"{HTTP_METHOD_WINDOW_MINUTES} minutes"), "http_method") \
        .agg(F.count(F.lit(1)).alias("pageviews")) \
        .select(F.col("window.end").alias("window_end"), "http_method", "pageviews")
    # ISFIRST: per user and interval the earliest event, ties to the first to arrive (partition, offset).
    first = shifted.groupBy(F.window("window_time", f"{FIRST_EVENT_INTERVAL_MINUTES} minutes"), "user_id") \
        .agg(F.min(F.struct("event_timestamp", "partition_id", "byte_offset", "event_id")).alias("first")) \
        .select("user_id", F.col("first.event_id").alias("event_id"), F.col("window.end").alias("interval_end"))
    return {
        "raw_pageviews": raw_pv.drop("kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp"),
        "raw_stars": raw_st.drop("kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp"),
        "raw_vip_only": raw_pv.join(vip, raw_pv.user_id == vip.id, "left_semi"),
        "pageviews_stars_correlation": correlation,
        "agg_http_method": agg,
        "alert_high_latency": slow,
        "alert_high_latency_enriched": slow.join(users, slow.user_id == users.id, "left_outer").drop("id"),
        "first_event_in_user_sequence": first,
        "parsed_pageviews": pv,
        "parsed_stars": st,
        "high_latency": pv.where(F.col("latency") > DLT_HIGH_LATENCY_MS),
    }


def start(frames: dict[str, DataFrame], path_of: Callable[[str], str], checkpoints: str, **trigger: Any
          ) -> list[StreamingQuery]:
    """Every output appended as Parquet to path_of(name), each with its own checkpoint."""
    return [frame.writeStream.format("parquet").outputMode("append").option("path", path_of(name))
            .option("checkpointLocation", f"{checkpoints}/{name}").trigger(**trigger).start()
            for name, frame in frames.items()]


def run_available(frames: dict[str, DataFrame], output: Path, checkpoints: Path) -> None:
    """Every output to Parquet under output/<name>/, processing what the source holds now (as the
    original's `availableNow` jobs), then stop."""
    for query in start(frames, lambda name: str(output / name), str(checkpoints), availableNow=True):
        query.awaitTermination()


def event_hubs_kafka(connection_string: str) -> tuple[str, str]:
    """Bootstrap servers and JAAS config of Event Hubs' Kafka endpoint, from a namespace connection
    string (Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=...;...)."""
    fields = dict(part.split("=", 1) for part in connection_string.strip().strip(";").split(";") if "=" in part)
    host = fields.get("Endpoint", "").removeprefix("sb://").strip("/")
    if not host:
        raise ValueError("EVENTHUBS_CONNECTION_STRING has no Endpoint=sb://<namespace>.servicebus.windows.net/")
    jaas = ('kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required '
            f'username="$ConnectionString" password="{connection_string.strip()}";')
    return f"{host}:9093", jaas


def main(argv: list[str] | None = None) -> None:
    """The Databricks job: both hubs in, every Databricks and Stream Analytics output to the lake folder
    the local engine writes it to (abfss://<tier>@<account>.dfs.core.windows.net/streaming/<name>)."""
    parser = argparse.ArgumentParser(prog="playground-streaming", description=main.__doc__)
    parser.add_argument("--storage-account", required=True, help="The lake's storage account.")
    parser.add_argument("--available-now", action="store_true", help="Process what is there, then stop.")
    args = parser.parse_args(argv)
    connection = os.environ.get("EVENTHUBS_CONNECTION_STRING")
    if not connection:
        parser.error("EVENTHUBS_CONNECTION_STRING (a listen rule of the Event Hubs namespace) is not set")
    bootstrap, jaas = event_hubs_kafka(connection)
    lake = "abfss://{container}@" + args.storage_account + ".dfs.core.windows.net/{path}"
    tier = {o.name: o.tier for o in OUTPUTS}
    spark = SparkSession.builder.appName("playground-streaming").getOrCreate()
    frames = outputs(spark, kafka_source(spark, bootstrap, "pageviews", jaas),
                     kafka_source(spark, bootstrap, "stars", jaas), lake.format(container="landing", path=""))
    queries = start(frames, lambda name: lake.format(container=tier[name], path=f"streaming/{name}"),
                    lake.format(container="bronze", path="_checkpoints/streaming"),
                    **({"availableNow": True} if args.available_now else {"processingTime": "1 minute"}))
    for query in queries:
        query.awaitTermination()


if __name__ == "__main__":
    main()
