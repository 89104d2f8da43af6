"""Reading back what the generators wrote, the way a test (or a curious user) would."""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

from playground.generators.cli import app
from playground.io.bus.embedded import EmbeddedLog
from typer.testing import CliRunner

if TYPE_CHECKING:
    from dagster import AssetsDefinition, Definitions

runner = CliRunner()
# `make test-unit` (the fast lane) tries a fifth of each property's examples; `make test` all of them.
EXAMPLES_SHARE = 0.2 if os.environ.get("PLAYGROUND_TEST_LANE") == "unit" else 1.0


def examples(full: int) -> int:
    """How many examples a property test tries in this lane."""
    return max(10, int(full * EXAMPLES_SHARE))


def playground(*args: str) -> str:
    """Run the CLI; fail the test with its output unless it succeeds."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def dataset_args(root: Path) -> list[str]:
    return ["--lake", str(root / "lake"), "--orders-url", f"sqlite:///{root / 'orders.db'}",
            "--bus", str(root / "events.db"), "--quiet"]


def local_env(root: Path, **extra: str) -> dict[str, str]:
    """This process's environment with every store of the local playground under root."""
    from dagster_project.solutions import local_environment

    return local_environment(str(root), **extra)


def local_resources(root: Path, **extra: str) -> dict[str, object]:
    """The local playground's resources (solution_resources.py) with every store under root."""
    from dagster_project.solution_resources import resources_for

    with mock.patch.dict(os.environ, local_env(root, **extra)):
        return resources_for("local")


@functools.cache
def local_definitions() -> Definitions:
    from dagster_project.assembly import build_definitions

    return build_definitions("local")


def local_assets(*tiers: str) -> list[AssetsDefinition]:
    """The local playground's asset definitions in these tiers (groups), as its location assembles them."""
    from dagster import AssetsDefinition

    return [a for a in local_definitions().assets
            if isinstance(a, AssetsDefinition) and set(a.group_names_by_key.values()) & set(tiers)]


def manifest(root: Path, source: str) -> dict:
    return json.loads((root / "lake" / "landing" / "_manifests" / f"{source}.json").read_text())


def table_rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def events(db: Path, topic: str) -> list[tuple[int, int, bytes]]:
    """(partition, sequence number, body) of every event of a topic in the embedded log."""
    log = EmbeddedLog(str(db), readonly=True)
    try:
        return [(r.partition, r.sequence_number, r.body) for p in log.partitions(topic)
                for r in log.read(topic, p, 0, limit=10**9)]
    finally:
        log.close()
