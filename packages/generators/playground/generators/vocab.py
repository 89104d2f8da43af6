"""Czech vocabularies (Faker's cs_CZ lists), as polars Series that generators index with numpy.

The lists are read from vocab_cs_CZ.json, which `python -m playground.generators.vocab` renders from Faker (a
test checks it is still Faker's): importing Faker and finding its locales took a tenth of a second of
every command's start. Only pageviews' user agents are made by Faker when asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

VOCAB_FILE = Path(__file__).with_name("vocab_cs_CZ.json")

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
    sentences: SentencePool


def faker_lists() -> dict[str, list[str]]:
    """The lists as Faker has them (and names in ASCII, lower case, for user names)."""
    from faker.decode import unidecode
    from faker.providers.address.cs_CZ import Provider as Address
    from faker.providers.job.cs_CZ import Provider as Job
    from faker.providers.lorem.cs_CZ import Provider as Lorem
    from faker.providers.person.cs_CZ import Provider as Person

    names = {"first_male": Person.first_names_male, "first_female": Person.first_names_female,
             "last_male": Person.last_names_male, "last_female": Person.last_names_female}
    return {**{kind: list(values) for kind, values in names.items()},
            **{f"{kind}_ascii": [unidecode(n).lower().replace(" ", "") for n in values]
               for kind, values in names.items()},
            "suffixes": list(Person.suffixes), "cities": list(Address.cities), "streets": list(Address.streets),
            "regions": list(Address.states), "jobs": list(Job.jobs), "words": list(Lorem.word_list)}


class SentencePool:
    """A fixed pool of sentences of Lorem words (its seed is part of the vocabulary; records pick from it by
    theirs). Made whole the first time many are asked for; a few asked before that are made alone, so ten
    users do not wait for 50,000 sentences (~0.1 s)."""

    def __init__(self, words: list[str], count: int) -> None:
        rng = np.random.default_rng(20220813)
        lengths = rng.integers(4, 12, count)
        self._words = words
        self._picks = rng.integers(0, len(words), int(lengths.sum()))
        self._ends = np.cumsum(lengths)
        self._starts = self._ends - lengths
        self._whole: pl.Series | None = None

    def __len__(self) -> int:
        return len(self._ends)

    def _sentence(self, i: int) -> str:
        text = " ".join(self._words[w] for w in self._picks[self._starts[i]:self._ends[i]].tolist())
        return text[0].upper() + text[1:] + "."

    def gather(self, indices: np.ndarray) -> pl.Series:
        if self._whole is None and len(indices) * 20 < len(self):
            return pl.Series([self._sentence(i) for i in np.asarray(indices).tolist()], dtype=pl.String)
        if self._whole is None:
            self._whole = pl.Series([self._sentence(i) for i in range(len(self))], dtype=pl.String)
        return self._whole.gather(indices)


@cache
def vocab() -> Vocab:
    lists = json.loads(VOCAB_FILE.read_text(encoding="utf-8"))
    return Vocab(**{kind: pl.Series(values, dtype=pl.String) for kind, values in lists.items()},
                 titles=pl.Series(TITLES), sentences=SentencePool(lists["words"], SENTENCE_POOL))


@cache
def user_agents() -> pl.Series:
    """Browsers' user agents, for pageviews."""
    from faker import Faker

    faker = Faker("cs_CZ")
    faker.seed_instance(20220813)
    return pl.Series([faker.user_agent() for _ in range(USER_AGENT_POOL)])


def render() -> str:
    return json.dumps(faker_lists(), ensure_ascii=False, indent=0) + "\n"


if __name__ == "__main__":
    VOCAB_FILE.write_text(render(), encoding="utf-8")
