"""Czech vocabularies (Faker's cs_CZ lists), as polars Series that generators index with numpy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
from faker import Faker
from faker.decode import unidecode
from faker.providers.address.cs_CZ import Provider as Address
from faker.providers.job.cs_CZ import Provider as Job
from faker.providers.lorem.cs_CZ import Provider as Lorem
from faker.providers.person.cs_CZ import Provider as Person

SENTENCE_POOL = 50_000
USER_AGENT_POOL = 1_000
# Academic titles only: Faker's "pan"/"paní" are forms of address, not part of a name.
TITLES = ("JUDr.", "Ing.", "Bc.", "Mgr.", "MUDr.", "RNDr.", "Ing. arch.", "MVDr.", "PhDr.")


@dataclass(frozen=True)
class Vocab:
    first_male: pl.Series
    first_female: pl.Series
    last_male: pl.Series
    last_female: pl.Series
    first_male_ascii: pl.Series
    first_female_ascii: pl.Series
    last_male_ascii: pl.Series
    last_female_ascii: pl.Series
    titles: pl.Series
    suffixes: pl.Series
    cities: pl.Series
    streets: pl.Series
    regions: pl.Series
    jobs: pl.Series
    words: pl.Series
    sentences: pl.Series
    user_agents: pl.Series


def _ascii(names: tuple[str, ...]) -> list[str]:
    return [unidecode(n).lower().replace(" ", "") for n in names]


def _sentences(words: list[str], count: int) -> list[str]:
    # Fixed seed: the pool is part of the vocabulary, not of a data set; records pick from it by seed.
    rng = np.random.default_rng(20220813)
    lengths = rng.integers(4, 12, count)
    picks = rng.integers(0, len(words), int(lengths.sum()))
    out, pos = [], 0
    for n in lengths.tolist():
        text = " ".join(words[i] for i in picks[pos: pos + n].tolist())
        out.append(text[0].upper() + text[1:] + ".")
        pos += n
    return out


@cache
def vocab() -> Vocab:
    faker = Faker("cs_CZ")
    faker.seed_instance(20220813)
    words = list(Lorem.word_list)
    return Vocab(
        first_male=pl.Series(Person.first_names_male),
        first_female=pl.Series(Person.first_names_female),
        last_male=pl.Series(Person.last_names_male),
        last_female=pl.Series(Person.last_names_female),
        first_male_ascii=pl.Series(_ascii(Person.first_names_male)),
        first_female_ascii=pl.Series(_ascii(Person.first_names_female)),
        last_male_ascii=pl.Series(_ascii(Person.last_names_male)),
        last_female_ascii=pl.Series(_ascii(Person.last_names_female)),
        titles=pl.Series(TITLES),
        suffixes=pl.Series(Person.suffixes),
        cities=pl.Series(Address.cities),
        streets=pl.Series(Address.streets),
        regions=pl.Series(Address.states),
        jobs=pl.Series(Job.jobs),
        words=pl.Series(words),
        sentences=pl.Series(_sentences(words, SENTENCE_POOL)),
        user_agents=pl.Series([faker.user_agent() for _ in range(USER_AGENT_POOL)]),
    )
