"""Users (cs_CZ) and the VIP list: whole records built column-wise from seeded draws."""

from __future__ import annotations

import numpy as np
import polars as pl

from playground.errors import PlaygroundError
from playground.generators.blocks import Draws, block_rng, draw_range
from playground.generators.vocab import vocab

# Ages 18..90 on the day the original data set ends (2022-08-13).
BIRTH_FIRST = np.datetime64("1932-08-13")
BIRTH_LAST = np.datetime64("2004-08-13")
TITLE_SHARE, SUFFIX_SHARE = 0.03, 0.02
# Czech mobile prefixes as Faker's cs_CZ formats give them; the last four end in a random digit.
PHONE_PREFIXES = np.array([601, 602, 603, 604, 605, 606, 607, 608, 702, 703, 704, 705, 720, 730, 770, 790])
PHONE_OPEN_ENDED = np.array([False] * 12 + [True] * 4)


def _draw(rng: np.random.Generator, n: int) -> Draws:
    v = vocab()
    return {
        "female": rng.random(n) < 0.5,
        "first": rng.integers(0, 1 << 30, n),
        "last": rng.integers(0, 1 << 30, n),
        "title": rng.integers(0, len(v.titles), n),
        "has_title": rng.random(n) < TITLE_SHARE,
        "suffix": rng.integers(0, len(v.suffixes), n),
        "has_suffix": rng.random(n) < SUFFIX_SHARE,
        "birth_day": rng.integers(0, int((BIRTH_LAST - BIRTH_FIRST).astype(int)), n),
        "serial": rng.integers(0, 1000, n),
        "city": rng.integers(0, len(v.cities), n),
        "street": rng.integers(0, len(v.streets), n),
        "house_digits": rng.integers(1, 4, n),
        "house": rng.integers(0, 1000, n),
        "phone_intl": rng.random(n) < 0.5,
        "phone_prefix": rng.integers(0, len(PHONE_PREFIXES), n),
        "phone_digits": rng.integers(0, 10_000_000, n),
        "user_name_form": rng.integers(0, 4, n),
        "user_name_number": rng.integers(0, 100, n),
        "region": rng.integers(0, len(v.regions), n),
        "sentences": rng.integers(0, len(v.sentences), (5, n)),
        "jobs": rng.integers(0, len(v.jobs), (3, n)),
    }


def birth_numbers(birth: np.ndarray, female: np.ndarray, serial: np.ndarray) -> pl.Series:
    """Czech birth numbers (rodné číslo) for birth dates and sexes.

    YYMMDD with 50 added to the month for women; a 3-digit serial; from 1954 on a check digit
    that makes the 10-digit number divisible by 11 (serials whose remainder would be 10 are
    skipped, as the registry has done since 1985).
    """
    years = birth.astype("datetime64[Y]").astype(int) + 1970
    months = birth.astype("datetime64[M]").astype(int) % 12 + 1
    days = (birth - birth.astype("datetime64[M]")).astype(int) + 1
    yymmdd = (years % 100) * 10_000 + (months + 50 * female) * 100 + days
    modern = years >= 1954
    serial = serial.copy()
    bump = modern & ((yymmdd * 1000 + serial) % 11 == 10)
    serial[bump] = (serial[bump] + 1) % 1000
    check = (yymmdd * 1000 + serial) % 11
    frame = pl.DataFrame({"yymmdd": yymmdd, "serial": serial, "check": check, "modern": modern})
    return frame.select(pl.concat_str(
        pl.col("yymmdd").cast(pl.String).str.zfill(6), pl.lit("/"), pl.col("serial").cast(pl.String).str.zfill(3),
        pl.when("modern").then(pl.col("check").cast(pl.String)).otherwise(pl.lit("")),
    )).to_series()


def users_frame(seed: int, start: int, stop: int) -> pl.DataFrame:
    """Users start..stop-1, columns in the order of schema.USER_FIELDS."""
    v = vocab()
    d = draw_range(_draw, seed, "users", start, stop)
    female = d["female"]
    n_first_m, n_first_f = len(v.first_male), len(v.first_female)
    n_last_m, n_last_f = len(v.last_male), len(v.last_female)
    first_m, first_f = d["first"] % n_first_m, d["first"] % n_first_f
    last_m, last_f = d["last"] % n_last_m, d["last"] % n_last_f
    first_idx = np.where(female, n_first_m + first_f, first_m)
    last_idx = np.where(female, n_last_m + last_f, last_m)
    first = pl.concat([v.first_male, v.first_female]).gather(first_idx)
    last = pl.concat([v.last_male, v.last_female]).gather(last_idx)
    first_ascii = pl.concat([v.first_male_ascii, v.first_female_ascii]).gather(first_idx)
    last_ascii = pl.concat([v.last_male_ascii, v.last_female_ascii]).gather(last_idx)
    birth = BIRTH_FIRST + d["birth_day"]
    house_mod = 10 ** d["house_digits"]
    house = np.maximum(d["house"] % house_mod, house_mod // 10)  # 1-9, 10-99 or 100-999
    prefix = PHONE_PREFIXES[d["phone_prefix"]] + np.where(PHONE_OPEN_ENDED[d["phone_prefix"]],
                                                          d["phone_digits"] // 1_000_000, 0)
    raw = pl.DataFrame({
        "id": np.arange(start, stop, dtype=np.int64),
        "title": v.titles.gather(d["title"]), "has_title": d["has_title"],
        "suffix": v.suffixes.gather(d["suffix"]), "has_suffix": d["has_suffix"],
        "first": first, "last": last, "first_ascii": first_ascii, "last_ascii": last_ascii,
        "city": v.cities.gather(d["city"]),
        "street": v.streets.gather(d["street"]), "house": house,
        "phone_intl": d["phone_intl"], "phone_prefix": prefix, "phone_rest": d["phone_digits"] % 1_000_000,
        "birth_number": birth_numbers(birth, female, d["serial"]),
        "user_name_form": d["user_name_form"], "user_name_number": d["user_name_number"],
        "region": v.regions.gather(d["region"]),
        **{f"sentence{k}": v.sentences.gather(d["sentences"][k]) for k in range(5)},
        **{f"job{k}": v.jobs.gather(d["jobs"][k]) for k in range(3)},
    })
    col = pl.col
    rest = col("phone_rest").cast(pl.String).str.zfill(6)
    user_name = (
        pl.when(col("user_name_form") == 0).then(pl.concat_str("last_ascii", pl.lit("."), "first_ascii"))
        .when(col("user_name_form") == 1).then(pl.concat_str("first_ascii", pl.lit("."), "last_ascii"))
        .when(col("user_name_form") == 2).then(
            pl.concat_str("first_ascii", col("user_name_number").cast(pl.String).str.zfill(2)))
        .otherwise(pl.concat_str(col("first_ascii").str.slice(0, 1), "last_ascii"))
    )
    return raw.select(
        "id",
        name=pl.concat_str(
            pl.when("has_title").then("title"), "first", "last", pl.when("has_suffix").then("suffix"),
            separator=" ", ignore_nulls=True),
        city="city",
        street_address=pl.concat_str("street", pl.lit(" "), col("house").cast(pl.String)),
        phone_number=pl.concat_str(
            pl.when("phone_intl").then(pl.lit("+420 ")).otherwise(pl.lit("00420 ")),
            col("phone_prefix").cast(pl.String), pl.lit(" "), rest.str.slice(0, 3), pl.lit(" "),
            rest.str.slice(3, 3)),
        birth_number="birth_number",
        user_name=user_name,
        administrative_unit="region",
        description=pl.concat_str([f"sentence{k}" for k in range(5)], separator=" "),
        jobs=pl.concat_list([f"job{k}" for k in range(3)]),
    )


def vip_ids(seed: int, users: int, count: int) -> np.ndarray:
    """`count` distinct existing user ids, ascending (the original drew with replacement)."""
    if count > users:
        raise PlaygroundError(f"cannot pick {count} distinct VIP users from {users} users; lower the VIP count")
    return np.sort(block_rng(seed, "vip_users", 0).choice(users, size=count, replace=False))


def vip_frame(ids: np.ndarray, start: int, stop: int) -> pl.DataFrame:
    return pl.DataFrame({"id": ids[start:stop].astype(np.int64)})
