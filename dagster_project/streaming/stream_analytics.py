"""The Stream Analytics job's query and its inputs and outputs, rendered from scenarios.py so that
they cannot drift from the local engine: `python -m dagster_project.streaming.stream_analytics`
rewrites QUERY_FILE and JOB_FILE (which terraform/modules/stream_analytics deploys), and a test
fails when the committed files differ from the rendering.

Inputs: Event Hubs `pageviews` and `stars`; reference data `vipusers` and `users` (the lake's
landing files, where the generators write them). Outputs: one per Stream Analytics output of
scenarios.OUTPUTS, by original name, into the lake folder the local engine writes it to.
"""

from __future__ import annotations

import json
from pathlib import Path

from playground.catalog import PAGEVIEW_FIELDS, STAR_FIELDS, TOPICS, USERS_FILE, VIP_FILE

from dagster_project.streaming.scenarios import (
    CORRELATION_MINUTES,
    ENRICHING_USER_FIELDS,
    FIRST_EVENT_INTERVAL_MINUTES,
    HIGH_LATENCY_MS,
    HTTP_METHOD_WINDOW_MINUTES,
    OUTPUTS,
)

MODULE_DIR = Path(__file__).resolve().parents[2] / "terraform/modules/stream_analytics"
QUERY_FILE = MODULE_DIR / "query.asaql"
JOB_FILE = MODULE_DIR / "job.json"
ENVELOPE = ("System.Timestamp() AS event_timestamp, PartitionId AS partition_id, "
            "EventEnqueuedUtcTime AS enqueued_time, EventProcessedUtcTime AS processed_time")


def _fields(fields: tuple[str, ...], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"CAST({prefix}{f} AS float) AS {f}" if f == "latency" else f"{prefix}{f}" for f in fields)


def _stamp(alias: str, event_time: bool) -> str:
    """An input's timestamp as a value: DATEDIFF over input aliases (`DATEDIFF(minute, p, s)`) is
    documented only in a JOIN's ON condition; a SELECT list takes datetime expressions."""
    return f"CAST({alias}.event_time AS datetime)" if event_time else f"{alias}.EventEnqueuedUtcTime"


def render(event_time: bool = False) -> str:
    """The job's query; `event_time` stamps events by their event_time instead of arrival."""
    names = {o.name: f"[{o.original_name}]" for o in OUTPUTS if o.solution == "microsoft"}
    stamp = " TIMESTAMP BY event_time" if event_time else ""
    pv, st = f"[pageviews]{stamp}", f"[stars]{stamp}"
    return f"""-- Generated from dagster_project/streaming/scenarios.py by
-- `python -m dagster_project.streaming.stream_analytics`: edit the scenarios, not this file.
-- Arrival time (enqueued time), as the original job; event-time mode adds TIMESTAMP BY event_time.

WITH ranked AS (  -- a query has one WITH, first: ISFIRST per user, for first-event-in-user-sequence
    SELECT *, ISFIRST(minute, {FIRST_EVENT_INTERVAL_MINUTES}) OVER (PARTITION BY user_id) AS is_first FROM {pv}
)

SELECT {_fields(PAGEVIEW_FIELDS)}, {ENVELOPE}
INTO {names["raw_pageviews"]} FROM {pv}

SELECT {_fields(STAR_FIELDS)}, {ENVELOPE}
INTO {names["raw_stars"]} FROM {st}

SELECT {_fields(PAGEVIEW_FIELDS, "p")}, System.Timestamp() AS event_timestamp
INTO {names["raw_vip_only"]}
FROM {pv} AS p JOIN [vipusers] AS v ON p.user_id = v.id

SELECT p.user_id, p.event_id AS pageview_event_id, p.http_method, p.uri, s.event_id AS star_event_id, s.stars,
       DATEDIFF(millisecond, {_stamp("p", event_time)}, {_stamp("s", event_time)}) / 1000.0 AS seconds_between
INTO {names["pageviews_stars_correlation"]}
FROM {pv} AS p JOIN {st} AS s
  ON p.user_id = s.user_id AND DATEDIFF(minute, p, s) BETWEEN 0 AND {CORRELATION_MINUTES}

SELECT System.Timestamp() AS window_end, http_method, COUNT(*) AS pageviews
INTO {names["agg_http_method"]}
FROM {pv}
GROUP BY http_method, TumblingWindow(minute, {HTTP_METHOD_WINDOW_MINUTES})

SELECT {_fields(PAGEVIEW_FIELDS)}, System.Timestamp() AS event_timestamp
INTO {names["alert_high_latency"]}
FROM {pv} WHERE CAST(latency AS float) > {HIGH_LATENCY_MS}

SELECT {_fields(PAGEVIEW_FIELDS, "p")}, System.Timestamp() AS event_timestamp,
       {", ".join(f"u.{f}" for f in ENRICHING_USER_FIELDS)}
INTO {names["alert_high_latency_enriched"]}
FROM {pv} AS p LEFT OUTER JOIN [users] AS u ON p.user_id = u.id
WHERE CAST(p.latency AS float) > {HIGH_LATENCY_MS}

SELECT {_fields(PAGEVIEW_FIELDS)}, System.Timestamp() AS event_timestamp
INTO {names["first_event_in_user_sequence"]}
FROM ranked WHERE is_first = 1
"""


def _in_lake(path: str) -> dict[str, str]:
    """A lake path `<container>/<path>` as Stream Analytics addresses it."""
    container, _, rest = path.partition("/")
    return {"container": container, "path": rest}


def job() -> dict[str, object]:
    """The job's stream inputs (the bus's topics), reference inputs and outputs, by the names the query uses."""
    return {
        "stream_inputs": list(TOPICS),
        "reference_inputs": {"users": _in_lake(USERS_FILE), "vipusers": _in_lake(VIP_FILE)},
        "outputs": {o.original_name: _in_lake(o.lake_folder) for o in OUTPUTS if o.solution == "microsoft"},
    }


def render_job() -> str:
    return json.dumps(job(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    MODULE_DIR.mkdir(parents=True, exist_ok=True)
    QUERY_FILE.write_text(render())
    JOB_FILE.write_text(render_job())
    print(f"wrote {QUERY_FILE} and {JOB_FILE}")
