"""Bronze's two decoders agree: what clean_records_sql calls clean, decode_sql takes with the same values."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.bronze.decode import clean_records_sql, decode_sql
from generators.schema import PRODUCT_TYPES

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


@settings(max_examples=300, deadline=None)
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
