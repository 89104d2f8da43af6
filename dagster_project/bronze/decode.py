"""Records (JSON bytes) to typed columns, in SQL over a whole batch: bronze's rules, in one place.

Bronze (lake files and events) and the streaming engine decode with it. A record that has no
body (the bus could not give it), is not UTF-8, not a JSON object, lacks a required field, or has
a field of the wrong type (a string for a number, a fraction or boolean for an integer, a number
for a string, a list holding anything but strings for list[str]), or a time field (the catalog's
`times`) whose text is no ISO-8601 time silver can read, gets a `reason`; other missing fields stay NULL.

Speed: each body is parsed twice (validity, then one extraction of every field); a field's type
is read from its JSON text (quote, digits, bracket) instead of parsing each value again, which
keeps decoding near 300k events/s on one core (bench/streaming.py).
"""

from __future__ import annotations

import duckdb

from dagster_project.bronze.store import DUCKDB_TYPES

# event_time as epoch microseconds; without a zone, in the session's; digits past the microsecond are cut.
EVENT_US = "epoch_us(TRY_CAST(event_time AS TIMESTAMPTZ))"


def _is_time(column: str) -> str:
    """The text is a time both as silver reads it (a timestamp) and as the streaming engine does (with a zone)."""
    return f"(TRY_CAST({column} AS TIMESTAMPTZ) IS NOT NULL AND TRY_CAST({column} AS TIMESTAMP) IS NOT NULL)"


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _typed(json_text: str, kind: str) -> str:
    """A field's value from its JSON text, NULL when it is not of the kind."""
    if kind == "int":  # digits only: DuckDB would round 1.5 and take 1e3
        return f"CASE WHEN regexp_full_match({json_text}, '-?[0-9]+') THEN TRY_CAST({json_text} AS BIGINT) END"
    if kind == "float":  # JSON numbers are SQL numbers; "1.5" or true are not, nor NaN, Infinity or 1e400
        return f"CASE WHEN isfinite(TRY_CAST({json_text} AS DOUBLE)) THEN TRY_CAST({json_text} AS DOUBLE) END"
    if kind == "list[str]":
        return (f"CASE WHEN starts_with({json_text}, '[') AND coalesce(list_bool_and(list_transform("
                f"json_extract({json_text}, '$[*]'), lambda x: starts_with(x::VARCHAR, '\"'))), true) "
                f"THEN json_extract_string({json_text}, '$[*]') END")
    return (f"CASE WHEN NOT starts_with({json_text}, '\"') THEN NULL "
            f"WHEN contains({json_text}, '\\') THEN {json_text} ->> '$' "
            f"ELSE substring({json_text}, 2, length({json_text}) - 2) END")


def decode_sql(source: str, types: dict[str, dict[str, str]], required: tuple[str, ...], *,
               kind_column: str | None = None, base64: bool = False, times: tuple[str, ...] = ()) -> str:
    """A SELECT of `source`'s columns but `body`, plus a column per field, `event_us` (event_time as
    epoch microseconds when event_time is required, else NULL; a time without a zone is read in the
    session's zone, which the streaming engine sets to UTC), `reason` (NULL for a good record) and, for a
    bad one, `body` and `raw_text` (the body as text, when it is UTF-8).

    `types`: field types per kind of record; `kind_column` names the column saying which kind a row
    is (with one kind, none is needed). `base64`: a body may be base64 of the JSON, as Kafka
    clients sometimes hand records on (the Delta Live Tables pipeline decoded both)."""
    fields = {name: kind for field_types in types.values() for name, kind in field_types.items()}
    paths = ", ".join(_sql_text(f"$.{name}") for name in fields)
    values, checks = [], []
    for name, kind in fields.items():
        text = f"_{name}"  # the field's JSON text
        values.append(f"{_typed(text, kind)} AS {name}")
        if kind_column and len(types) > 1:
            kinds = ", ".join(_sql_text(k) for k, field_types in types.items() if name in field_types)
            applies = f"{kind_column} IN ({kinds}) AND "
        else:
            applies = ""
        if name in required:
            checks.append(f"WHEN {applies}coalesce({text}, 'null') = 'null' THEN {_sql_text(f'no field {name!r}')}")
        checks.append(f"WHEN {applies}{text} <> 'null' AND {name} IS NULL "
                      f"THEN {_sql_text(f'field {name!r} is not {kind}')}")
        if name in times:
            checks.append(f"WHEN {applies}{name} IS NOT NULL AND NOT {_is_time(name)} "
                          f"THEN {_sql_text(f'field {name!r} is not an ISO-8601 time: ')} || {name}")
    reason, event_us = "field_reason", "NULL::BIGINT"
    if "event_time" in required:  # event-time mode: a record the stream cannot place in time
        reason = "coalesce(field_reason, CASE WHEN event_us IS NULL THEN 'event_time is not an ISO timestamp' END)"
        event_us = EVENT_US
    # A byte-order mark (Windows tools start a UTF-8 file with one) is not part of the first record.
    text = "CASE WHEN starts_with(raw_text, chr(65279)) THEN substring(raw_text, 2) ELSE raw_text END"
    if base64:
        text = (f"CASE WHEN ltrim(raw_text) LIKE '{{%' THEN {text} "
                "ELSE coalesce(try(decode(from_base64(raw_text))), raw_text) END")
    return f"""
        WITH texts AS (
            SELECT *, {text} AS text FROM (SELECT *, try(decode(body)) AS raw_text FROM {source})
        ), documents AS (
            SELECT *, ltrim(text) LIKE '{{%' AND json_valid(text) AS is_object,
                   CASE WHEN is_object THEN json_extract(text, [{paths}]) END AS fields
            FROM texts
        ), field_texts AS (
            SELECT *, {", ".join(f"fields[{i}]::VARCHAR AS _{name}" for i, name in enumerate(fields, start=1))}
            FROM documents
        ), typed AS (
            SELECT *, {", ".join(values)} FROM field_texts
        ), checked AS (
            SELECT *, {event_us} AS event_us,
                   CASE WHEN body IS NULL THEN 'no body: the bus could not give this record (a damaged segment)'
                        WHEN raw_text IS NULL THEN 'not UTF-8 text'
                        WHEN NOT is_object THEN CASE WHEN json_valid(text) THEN 'not a JSON object'
                                                     ELSE 'malformed JSON' END
                        {" ".join(checks)}
                   END AS field_reason
            FROM typed
        )
        SELECT * EXCLUDE (body, raw_text, text, is_object, fields, {", ".join(f"_{n}" for n in fields)},
                          field_reason, reason), reason,
               CASE WHEN reason IS NOT NULL THEN body END AS body,  -- kept for the quarantine only
               CASE WHEN reason IS NOT NULL THEN raw_text END AS raw_text
        FROM (SELECT *, {reason} AS reason FROM checked)
    """


# What a clean record's fields are, as DuckDB's JSON reader types them (json_type); a field may also be
# missing or null, unless it is required.
_JSON_TYPES = {"int": ("BIGINT", "UBIGINT"), "float": ("BIGINT", "UBIGINT", "DOUBLE"), "str": ("VARCHAR",),
               "list[str]": ("ARRAY",)}
_PROBED_ITEMS = 4


def clean_records_sql(source: str, types: dict[str, str], required: tuple[str, ...],
                      times: tuple[str, ...] = ()) -> str:
    """A SELECT of `source`'s columns but `text`, plus a column per field and `clean`: true for a record
    decode_sql would take as it is, with the same values. Much cheaper than decode_sql (one typed parse
    and one probe of the fields' JSON types), so a reader takes the clean records from it and gives only
    the rest to decode_sql, which says what is wrong with them (or takes them: a record that starts with
    a byte-order mark is not clean here)."""
    struct = "{" + ", ".join(f'"{name}": "{DUCKDB_TYPES[kind]}"' for name, kind in types.items()) + "}"
    paths = [f"$.{name}" for name in types]
    checks = []
    for index, (name, kind) in enumerate(types.items(), start=1):
        # The typed parse is lenient ("1" becomes 1, 1.5 becomes 2): the probe says each value was of its kind.
        typed = f"types[{index}] IN ({', '.join(map(_sql_text, _JSON_TYPES[kind]))}) AND value.{name} IS NOT NULL"
        if kind == "list[str]":  # a list's first items are probed with the fields, a longer list on its own
            first = len(paths) + 1
            paths += [f"$.{name}[{item}]" for item in range(_PROBED_ITEMS + 1)]
            typed += "".join(f" AND coalesce(types[{first + item}], 'VARCHAR') = 'VARCHAR'"
                             for item in range(_PROBED_ITEMS))
            typed += (f" AND CASE WHEN types[{first + _PROBED_ITEMS}] IS NULL THEN true ELSE "  # CASE: only if longer
                      f"list_has_all(['VARCHAR'], try(json_type(text, {_sql_text(f'$.{name}[*]')}))) END")
        if kind == "float":  # DuckDB's parser reads NaN, Infinity and 1e400 (infinite): none is a JSON number
            typed += f" AND isfinite(value.{name})"
        if name in times:
            typed += f" AND {_is_time(f'value.{name}')}"
        checks.append(typed if name in required else f"(coalesce(types[{index}], 'NULL') = 'NULL' OR {typed})")
    # Each parse is its own unnest: DuckDB would otherwise inline it into each field that reads it.
    return f"""
        SELECT * EXCLUDE (text, value, types), {", ".join(f"value.{name} AS {name}" for name in types)},
               coalesce({" AND ".join(checks)}, false) AS clean
        FROM (SELECT *, unnest([try(json_transform(text, '{struct}'))]) AS value,
                     unnest([try(json_type(text, [{", ".join(map(_sql_text, paths))}]))]) AS types FROM {source})
    """


def create_decoded(con: duckdb.DuckDBPyConnection, source: str, types: dict[str, dict[str, str]],
                   required: tuple[str, ...], *, kind_column: str | None = None, base64: bool = False,
                   times: tuple[str, ...] = ()) -> None:
    """The temp table `decoded`: decode_sql's rows of `source`, in its columns. The clean records come from
    clean_records_sql (one typed parse per kind of record), and only the others go through decode_sql."""
    columns = [f'"{c[0]}"' for c in con.execute(f"SELECT * FROM {source} LIMIT 0").description]
    fields = {name: kind for field_types in types.values() for name, kind in field_types.items()}
    kinds = []
    for kind, field_types in types.items():
        only = f"WHERE {kind_column} = {_sql_text(kind)}" if kind_column and len(types) > 1 else ""
        texts = f"(SELECT *, try(decode(body)) AS text FROM {source} {only})"
        kinds.append(clean_records_sql(texts, field_types, tuple(r for r in required if r in field_types),
                                       tuple(t for t in times if t in field_types)))
    if kind_column and len(types) > 1:  # a record of no known kind: decode_sql's
        kinds.append(f"SELECT *, false AS clean FROM {source} WHERE {kind_column} NOT IN "
                     f"({', '.join(map(_sql_text, types))}) OR {kind_column} IS NULL")
    placed = "event_time" in required  # a record placed in no time is not clean: decode_sql says why
    kept = ", ".join(c for c in columns if c != '"body"')
    con.execute(f"""CREATE OR REPLACE TEMP TABLE decoded AS
        SELECT {kept}, {", ".join(fields)}, event_us, NULL::VARCHAR AS reason,
               CASE WHEN NOT clean THEN body END AS body, NULL::VARCHAR AS raw_text, clean
        FROM (SELECT * REPLACE ({"clean AND event_us IS NOT NULL" if placed else "clean"} AS clean)
              FROM (SELECT *, {EVENT_US if placed else "NULL::BIGINT"} AS event_us
                    FROM ({" UNION ALL BY NAME ".join(kinds)})))""")
    if con.execute("SELECT count(*) FROM decoded WHERE NOT clean").fetchall()[0][0]:
        others = f"(SELECT {', '.join(columns)} FROM decoded WHERE NOT clean)"
        con.execute(f"""INSERT INTO decoded BY NAME SELECT *, NULL AS clean
            FROM ({decode_sql(others, types, required, kind_column=kind_column, base64=base64, times=times)})""")
        con.execute("DELETE FROM decoded WHERE NOT clean")
    con.execute("ALTER TABLE decoded DROP COLUMN clean")
