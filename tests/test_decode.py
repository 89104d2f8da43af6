"""Bronze's two decoders agree: what clean_records_sql calls clean, decode_sql takes with the same values,
and create_decoded (the one, then the other for the rest) gives decode_sql's table."""

from __future__ import annotations

import base64
import json

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from playground.catalog import PRODUCT_TYPES

from dagster_project.bronze.decode import clean_records_sql, create_decoded, decode_sql
from tests.helpers import examples

FIELDS = ", ".join(PRODUCT_TYPES)
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 65), 2 ** 65), st.floats(allow_nan=False),
    st.text(max_size=4), st.lists(st.one_of(st.text(max_size=3), st.integers(), st.none(), st.booleans()), max_size=6),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
GOOD = {"int": st.integers(-(2 ** 63), 2 ** 63 - 1), "float": st.one_of(st.floats(allow_nan=False), st.integers()),
        "str": st.text(max_size=6), "list[str]": st.lists(st.text(max_size=3), max_size=6)}


@st.composite
def records(draw: st.DrawFn) -> dict:
    """Mostly of the schema's kinds, so that one wrong value in an otherwise clean record is drawn often."""
    record = {}
    for name, kind in [*PRODUCT_TYPES.items(), ("other", "str")]:
        how = draw(st.sampled_from(["good"] * 6 + ["missing", "any"]))
        if how != "missing":
            record[name] = draw(GOOD[kind] if how == "good" else VALUES)
    if draw(st.booleans()) and isinstance(record.get("pages"), list):  # a list holding one value of another kind
        record["pages"].insert(draw(st.integers(0, len(record["pages"]))), draw(VALUES))
    return dict(sorted(record.items(), key=lambda _: draw(st.integers(0, 9))))


@st.composite
def lines(draw: st.DrawFn) -> str:
    record = draw(records())
    text = json.dumps(record, ensure_ascii=draw(st.booleans()), allow_nan=True)
    damage = draw(st.sampled_from(["none", "none", "none", "bom", "cut", "repeat", "garbage", "spaces"]))
    if damage == "bom":
        text = "\ufeff" + text
    elif damage == "cut":
        text = text[:draw(st.integers(0, len(text)))]
    elif damage == "repeat" and record:  # a key twice
        key = next(iter(record))
        text = text[:-1] + ", " + json.dumps({key: draw(VALUES)})[1:]
    elif damage == "garbage":
        text = draw(st.text(max_size=8))
    elif damage == "spaces":
        text = " " + text.replace(",", " ,\t") + " "
    return text


def decoded(texts: list[str]) -> tuple[dict[int, tuple], dict[int, tuple]]:
    """Each clean record by clean_records_sql, and each record by decode_sql with its reason, by row."""
    con = duckdb.connect()
    endings = ["", "\n", "\r\n"]
    con.register("texts", pa.table({"row": range(len(texts)),
                                    "text": [t + endings[i % 3] for i, t in enumerate(texts)]}))
    con.register("bodies", pa.table({"row": range(len(texts)), "body": [t.encode() for t in texts]}))
    clean = con.execute(f"SELECT row, {FIELDS} FROM ({clean_records_sql('texts', PRODUCT_TYPES, ('id',))}) "
                        "WHERE clean").fetchall()
    full = con.execute(f"SELECT row, {FIELDS}, reason FROM ({decode_sql('bodies', {'p': PRODUCT_TYPES}, ('id',))})"
                       ).fetchall()
    return {row[0]: row[1:] for row in clean}, {row[0]: row[1:] for row in full}


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(lines(), min_size=1, max_size=20))
def test_a_clean_record_is_what_the_full_rules_make_of_it(texts: list[str]) -> None:
    clean, full = decoded(texts)
    for row, values in clean.items():
        assert full[row] == (*values, None), texts[row]


def test_usual_records_are_clean_and_bad_ones_are_not() -> None:
    texts = ['{"id": 1, "name": "a", "description": "\\u00e9\\"", "pages": ["x", "y"], "price": 5}',
             '{"id": 2, "name": null, "pages": [], "other": {"a": [1]}}',  # null, missing and unknown fields
             '{"id": 3, "price": 1.5e3}',
             '{"id": "4"}', '{"id": 5.0}', '{"name": "no id"}', '{"id": null}', '{"id": 9223372036854775808}',
             '{"id": 6, "name": 6}', '{"id": 7, "pages": ["a", 1]}', '{"id": 8, "pages": ["a", null]}',
             '{"id": 9, "price": "1"}', '{"id": 10, "price": true}', '[1]', '{"id": 11', '\ufeff{"id": 12}']
    clean, full = decoded(texts)
    assert clean == {0: (1, "a", 'é"', ["x", "y"], 5.0), 1: (2, None, None, [], None), 2: (3, None, None, None, 1500.0)}
    assert full[15] == (12, None, None, None, None, None)  # not clean, yet taken by the full rules
    assert all(full[row][-1] is not None for row in range(3, 15))


EVENT_TYPES = {"pageviews": {"event_id": "str", "event_time": "str", "user_id": "int", "latency": "float"},
               "stars": {"event_id": "str", "event_time": "str", "user_id": "int", "stars": "int"}}
TIMES = st.one_of(st.sampled_from(["2022-08-13T00:00:00Z", "2022-08-13 01:02:03.000004", "2022-08-13T00:00:00+02:00",
                                   "yesterday", ""]), st.text(max_size=3))


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, bytes | None]:
    """A bus record: its topic and body (JSON, base64 of it, bytes that are not UTF-8, or none)."""
    topic = draw(st.sampled_from(["pageviews", "stars", "other"]))
    record = {name: draw(GOOD[kind] if draw(st.integers(0, 5)) else VALUES) if name != "event_time" else draw(TIMES)
              for name, kind in EVENT_TYPES.get(topic, EVENT_TYPES["stars"]).items() if draw(st.integers(0, 9))}
    body = json.dumps(record).encode()
    how = draw(st.sampled_from(["json"] * 5 + ["base64", "latin-1", "none", "cut"]))
    if how == "base64":
        body = base64.b64encode(body)
    elif how == "latin-1":
        body = body[:-1] + b' "\xe9"}'
    elif how == "cut":
        body = body[:draw(st.integers(0, len(body)))]
    return topic, None if how == "none" else body


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(bodies(), min_size=1, max_size=20), st.booleans())
def test_the_decoded_table_is_what_the_full_rules_make_of_every_record(records: list, event_time: bool) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("records", pa.table({"topic": [t for t, _ in records], "partition": range(len(records)),
                                      "body": pa.array([b for _, b in records], pa.binary())}))
    required = ("event_id", "user_id", "event_time") if event_time else ("event_id", "user_id")
    create_decoded(con, "records", EVENT_TYPES, required, kind_column="topic", base64=True)
    full = decode_sql("records", EVENT_TYPES, required, kind_column="topic", base64=True)
    columns = [c[0] for c in con.execute(f"SELECT * FROM ({full}) LIMIT 0").description]
    assert [c[0] for c in con.execute("SELECT * FROM decoded LIMIT 0").description] == columns
    assert (con.execute("SELECT * FROM decoded ORDER BY partition").fetchall()
            == con.execute(f"SELECT * FROM ({full}) ORDER BY partition").fetchall())
