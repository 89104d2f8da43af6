"""The streaming scenarios, defined once: each output's name, what it holds and where the original
wrote it, and the numbers the scenarios share.

The local micro-batch engine (engine.py), the Stream Analytics query and the Spark Structured
Streaming job are all built from these, so a threshold or window changes in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

HIGH_LATENCY_MS = 2000        # Stream Analytics' alert
DLT_HIGH_LATENCY_MS = 4000    # the Delta Live Tables pipeline's flag
HTTP_METHOD_WINDOW_MINUTES = 5
FIRST_EVENT_INTERVAL_MINUTES = 60
CORRELATION_MINUTES = 15      # a star 0-15 minutes after the pageview, both bounds included
# What the enriched high-latency alert adds from the users reference file (strings, joined on `id`).
ENRICHING_USER_FIELDS = ("name", "user_name", "city", "street_address", "phone_number")
# Stream Analytics' event ordering, as the original job set it (used in event-time mode).
LATE_ARRIVAL_S = 60
OUT_OF_ORDER_S = 50


@dataclass(frozen=True)
class Output:
    name: str           # asset and table name
    solution: str       # "microsoft" (Stream Analytics) or "databricks" (Delta Live Tables)
    tier: str           # the lake folder the original wrote it to
    original_name: str  # the Stream Analytics output or DLT table it stands for
    description: str

    @property
    def lake_folder(self) -> str:
        return f"{self.tier}/streaming/{self.name}"


OUTPUTS = (
    Output("raw_pageviews", "microsoft", "bronze", "raw-pageviews",
           "Every pageview, latency as float, with its event time, partition, enqueued and processed time."),
    Output("raw_stars", "microsoft", "bronze", "raw-stars", "Every star, with the same envelope."),
    Output("raw_vip_only", "microsoft", "silver", "raw-vip-only",
           "Pageviews of users in the VIP list (reference data: the lake's vipusers file)."),
    Output("pageviews_stars_correlation", "microsoft", "silver", "pageviews-stars-correlation",
           f"A pageview and a star of the same user, the star 0-{CORRELATION_MINUTES} minutes after the pageview "
           "(the Delta Live Tables pipeline's correlation too)."),
    Output("agg_http_method", "microsoft", "silver", "agg-http-method",
           f"Pageviews per HTTP method per {HTTP_METHOD_WINDOW_MINUTES}-minute tumbling window (start, end], "
           "stamped with the window end, emitted once when the window has closed."),
    Output("alert_high_latency", "microsoft", "silver", "alert-high-latency",
           f"Pageviews slower than {HIGH_LATENCY_MS} ms."),
    Output("alert_high_latency_enriched", "microsoft", "silver", "alert-high-latency-enriched",
           "The same alerts with the user's record (reference data: the lake's users file); "
           "user fields stay empty for a user the file does not hold yet."),
    Output("first_event_in_user_sequence", "microsoft", "silver", "first-event-in-user-sequence",
           f"Each user's first pageview in each {FIRST_EVENT_INTERVAL_MINUTES}-minute interval "
           "(ISFIRST; intervals aligned like tumbling windows)."),
    Output("parsed_pageviews", "databricks", "silver", "parsed_pageviews",
           "Pageviews decoded from the raw Kafka records (JSON bytes, or base64 of them), with key, topic, "
           "partition, offset and timestamp."),
    Output("parsed_stars", "databricks", "silver", "parsed_stars", "Stars decoded the same way."),
    Output("high_latency", "databricks", "silver", "high_latency",
           f"Parsed pageviews slower than {DLT_HIGH_LATENCY_MS} ms."),
)
OUTPUT_NAMES = tuple(o.name for o in OUTPUTS)


def outputs_of(solutions: tuple[str, ...]) -> list[Output]:
    """The outputs standing for these solutions' originals (an engine's `Solution.streaming_solutions`)."""
    return [o for o in OUTPUTS if o.solution in solutions]
