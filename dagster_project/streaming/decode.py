"""Event bodies to typed columns, in SQL over a whole micro-batch.

A body is JSON bytes, or base64 of them as Kafka clients sometimes hand records on (the Delta
Live Tables pipeline decoded both). The rules are bronze's (bronze/files.py parse_record): a body
that is not a JSON object, lacks a required field, or has a field of the wrong type (a string
for a number, a fraction or boolean for an integer, a number for a string) is quarantined with
the reason; other missing fields stay NULL. Bronze requires only event_id; the scenarios also need
user_id (each one is per user), so an event without it is quarantined here and kept in bronze.

Speed: each body is parsed twice (validity, then one extraction of every field); a field's type
is read from its JSON text (quote, digits) instead of parsing each value again, which keeps
decoding near 300k events/s on one core (bench/streaming.py).
"""

from __future__ import annotations

from generators.schema import PAGEVIEW_TYPES, STAR_TYPES

TOPIC_TYPES = {"pageviews": PAGEVIEW_TYPES, "stars": STAR_TYPES}
FIELDS = {**PAGEVIEW_TYPES, **STAR_TYPES}  # one column per field of either topic
SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE"}


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _typed(json_text: str, kind: str) -> str:
    """A field's value from its JSON text, NULL when it is not of the kind."""
    if kind in SQL_TYPES:  # JSON numbers are SQL numbers; "1", 1.5 (as an integer) or true are not
        return f"TRY_CAST({json_text} AS {SQL_TYPES[kind]})"
    return (f"CASE WHEN NOT starts_with({json_text}, '\"') THEN NULL "
            f"WHEN contains({json_text}, '\\') THEN {json_text} ->> '$' "
            f"ELSE substring({json_text}, 2, length({json_text}) - 2) END")


def decode_sql(source: str, required: tuple[str, ...]) -> str:
    """A SELECT of `source`'s columns plus every field, `event_ms` (event_time as epoch ms, when
    event_time is required), `reason` (NULL for a good record) and, for a bad one, its `body`.
    `source` has `topic` and `body`."""
    names = list(FIELDS)
    paths = ", ".join(_sql_text(f"$.{name}") for name in names)
    values, checks = [], []
    for name, kind in FIELDS.items():
        text = f"_{name}"  # the field's JSON text
        values.append(f"{_typed(text, kind)} AS {name}")
        topics = ", ".join(_sql_text(t) for t, types in TOPIC_TYPES.items() if name in types)
        if name in required:
            checks.append(f"WHEN topic IN ({topics}) AND coalesce({text}, 'null') = 'null' "
                          f"THEN {_sql_text(f'no field {name!r}')}")
        checks.append(f"WHEN topic IN ({topics}) AND {text} <> 'null' AND {name} IS NULL "
                      f"THEN {_sql_text(f'field {name!r} is not {kind}')}")
    reason, event_ms = "field_reason", "NULL::BIGINT"
    if "event_time" in required:  # event-time mode: a record the stream cannot place in time
        reason = "coalesce(field_reason, CASE WHEN event_ms IS NULL THEN 'event_time is not an ISO timestamp' END)"
        event_ms = "epoch_ms(TRY_CAST(event_time AS TIMESTAMPTZ))"
    return f"""
        WITH utf8 AS (
            SELECT *, try(decode(body)) AS raw_text FROM {source}
        ), texts AS (
            SELECT *, CASE WHEN ltrim(raw_text) LIKE '{{%' THEN raw_text
                           ELSE coalesce(try(decode(from_base64(raw_text))), raw_text) END AS text
            FROM utf8
        ), documents AS (
            SELECT *, ltrim(text) LIKE '{{%' AND json_valid(text) AS is_object,
                   CASE WHEN is_object THEN json_extract(text, [{paths}]) END AS fields
            FROM texts
        ), field_texts AS (
            SELECT *, {", ".join(f"fields[{i}]::VARCHAR AS _{name}" for i, name in enumerate(names, start=1))}
            FROM documents
        ), typed AS (
            SELECT *, {", ".join(values)} FROM field_texts
        ), checked AS (
            SELECT *, {event_ms} AS event_ms,
                   CASE WHEN raw_text IS NULL THEN 'not UTF-8 text'
                        WHEN NOT is_object THEN CASE WHEN json_valid(text) THEN 'not a JSON object'
                                                     ELSE 'malformed JSON' END
                        {" ".join(checks)}
                   END AS field_reason
            FROM typed
        )
        SELECT * EXCLUDE (body, raw_text, text, is_object, fields, {", ".join(f"_{n}" for n in names)}, field_reason,
                          reason), reason,
               CASE WHEN reason IS NOT NULL THEN body END AS body  -- kept for the quarantine only
        FROM (SELECT *, {reason} AS reason FROM checked)
    """
