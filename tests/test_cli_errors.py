"""Bad input gets one clear message naming what was wrong, and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from playground.generators.blocks import chunks
from playground.generators.cli import app
from typer.testing import CliRunner

from tests.helpers import dataset_args, playground

runner = CliRunner()


def fails(*args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def test_unknown_source(tmp_path: Path) -> None:
    assert "'customers' is not one of" in fails("generate", "customers", *dataset_args(tmp_path))


def test_unknown_scale(tmp_path: Path) -> None:
    assert "unknown scale 'huge'" in fails("generate", "users", "--scale", "huge", *dataset_args(tmp_path))


def test_count_needs_one_source(tmp_path: Path) -> None:
    assert "--count applies to one source" in fails("generate", "all", "--count", "5", *dataset_args(tmp_path))


def test_unreachable_database(tmp_path: Path) -> None:
    args = dataset_args(tmp_path)
    args[args.index("--orders-url") + 1] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    message = fails("generate", "orders", "--count", "10", *args)
    assert "cannot connect to orders DB postgresql+psycopg://nobody@127.0.0.1:1/none" in message
    assert "--orders-url" in message


def test_not_a_database_url(tmp_path: Path) -> None:
    args = dataset_args(tmp_path)
    args[args.index("--orders-url") + 1] = "not a url"
    assert "is not a SQLAlchemy URL" in fails("generate", "orders", *args)


def test_password_is_not_echoed(tmp_path: Path) -> None:
    args = dataset_args(tmp_path)
    args[args.index("--orders-url") + 1] = "postgresql+psycopg://me:s3cret@127.0.0.1:1/db"
    assert "s3cret" not in fails("generate", "orders", "--count", "10", *args)


def test_unwritable_lake(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    args = dataset_args(tmp_path)
    args[args.index("--lake") + 1] = str(blocker / "lake")
    message = fails("generate", "users", "--count", "10", *args)
    assert "cannot write" in message and "Not a directory" in message and "Choose a writable --lake" in message


@pytest.mark.parametrize("connection, expected", [
    ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send", "lacks SharedAccessKey"),
    ("just some text", "connection string is malformed"),
    ("Endpoint=https://ns.example/;SharedAccessKeyName=a;SharedAccessKey=b", "Endpoint must look like sb://"),
])
def test_malformed_event_hubs_connection_string(tmp_path: Path, connection: str, expected: str) -> None:
    args = dataset_args(tmp_path)
    args[args.index("--bus") + 1] = "eventhubs"
    playground("generate", "users", "--count", "10", *dataset_args(tmp_path))
    message = fails("generate", "pageviews", "--count", "10", *args, env={"EVENTHUBS_CONNECTION_STRING": connection})
    assert expected in message
    assert "SharedAccessKey=b" not in message


def test_missing_event_hubs_connection_string(tmp_path: Path) -> None:
    args = dataset_args(tmp_path)
    args[args.index("--bus") + 1] = "eventhubs-amqp"
    message = fails("generate", "pageviews", "--count", "10", *args, env={"EVENTHUBS_CONNECTION_STRING": ""})
    assert "EVENTHUBS_CONNECTION_STRING" in message


def test_unknown_bus(tmp_path: Path) -> None:
    args = dataset_args(tmp_path)
    args[args.index("--bus") + 1] = "amqp://somewhere"
    assert "unknown bus 'amqp://somewhere'" in fails("generate", "pageviews", "--count", "10", *args)


def test_azure_lake_without_credentials(tmp_path: Path) -> None:
    args = dataset_args(tmp_path)
    args[args.index("--lake") + 1] = "abfs://landing"
    env = {"AZURE_STORAGE_CONNECTION_STRING": "", "AZURE_STORAGE_ACCOUNT_NAME": ""}
    assert "AZURE_STORAGE_CONNECTION_STRING" in fails("generate", "users", *args, env=env)


def test_bad_dirty_rate(tmp_path: Path) -> None:
    assert "--dirty-rate must be between 0 and 1" in fails("generate", "users", "--dirty-rate", "2",
                                                          *dataset_args(tmp_path))


@pytest.mark.parametrize(("command", "option", "value"), [
    (["generate", "pageviews", "--count", "10"], "--rate", "0"),  # was a ZeroDivisionError
    (["generate", "pageviews", "--count", "10"], "--rate", "-1"),  # grew to 2.4 GB
    (["generate", "pageviews", "--count", "10"], "--rate", "nan"),
    (["stream"], "--rate", "inf"),  # ignored --duration, held gigabytes, ignored SIGTERM
    (["stream"], "--rate", "1e12"),
    (["stream"], "--duration", "nan"),  # never ended
    (["stream"], "--duration", "-1"),
    (["trickle"], "--products-per-s", "1e12"),  # ignored SIGTERM
    (["trickle"], "--products-per-s", "nan"),
    (["trickle"], "--orders-per-s", "-1"),
    (["trickle"], "--duration", "inf"),
])
def test_rates_and_durations_are_finite_positive_and_bounded(tmp_path: Path, command: list[str], option: str,
                                                             value: str) -> None:
    """Issue 38, medium 10 and low 11: each is one line and exit 2, before anything runs."""
    args = {"generate": dataset_args(tmp_path), "stream": ["--lake", str(tmp_path / "lake")],
            "trickle": dataset_args(tmp_path)[:4]}[command[0]]
    said = fails(*command, option, value, *args)
    assert f"{option} must be a number" in said and f"got {float(value)}" in said
    assert not (tmp_path / "lake").exists() and not (tmp_path / "events.db").exists()


def test_failed_generation_keeps_the_previous_file(tmp_path: Path) -> None:
    """A run that fails half-way leaves what was there before: files are replaced whole."""
    playground("generate", "users", "--count", "100", *dataset_args(tmp_path))
    users = tmp_path / "lake/landing/users/users.json"
    before = users.read_bytes()
    fails("generate", "users", "--count", "100", "--dirty-rate", "-1", *dataset_args(tmp_path))
    assert users.read_bytes() == before
    assert not list(users.parent.glob(".*inprogress"))


@pytest.mark.parametrize("command", [["generate", "users", "--count", "10"], ["stream", "--duration", "1"],
                                     ["trickle", "--duration", "1"]])
def test_negative_seed(tmp_path: Path, command: list[str]) -> None:
    args = dataset_args(tmp_path) if command[0] != "stream" else ["--lake", str(tmp_path / "lake")]
    if command[0] == "trickle":
        args = args[:4]  # --lake and --orders-url
    assert "Invalid value for '--seed'" in fails(*command, "--seed", "-1", *args)


def test_kafka_bus_without_a_broker(tmp_path: Path) -> None:
    args = dataset_args(tmp_path)
    args[args.index("--bus") + 1] = "kafka://"
    assert "--bus 'kafka://' does not name a broker" in fails("generate", "pageviews", "--count", "10", *args)


@pytest.mark.integration
def test_unreachable_kafka_fails_at_once_with_one_message(tmp_path: Path) -> None:
    """Not after a 30 s wait for deliveries, nor after the client's own log lines."""
    playground("generate", "users", "--count", "10", *dataset_args(tmp_path))
    began = time.monotonic()
    done = subprocess.run([str(Path(sys.executable).parent / "playground"), "generate", "pageviews", "--count", "10",
                           "--lake", str(tmp_path / "lake"), "--bus", "kafka://127.0.0.1:1", "--quiet"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert time.monotonic() - began < 20
    message = " ".join(done.stderr.split())
    assert message.startswith("error: Kafka delivery failed") and "127.0.0.1:1" in message, done.stderr


@pytest.mark.integration  # waits on Event Hubs' client against a closed port
def test_unreachable_event_hubs_amqp(tmp_path: Path) -> None:
    playground("generate", "users", "--count", "10", *dataset_args(tmp_path))
    args = dataset_args(tmp_path)
    args[args.index("--bus") + 1] = "eventhubs-amqp"
    connection = "Endpoint=sb://127.0.0.1/;SharedAccessKeyName=send;SharedAccessKey=secret"
    message = fails("generate", "pageviews", "--count", "10", *args, env={"EVENTHUBS_CONNECTION_STRING": connection})
    assert "cannot send to event hub 'pageviews' on 127.0.0.1" in message and "Connection refused" in message
    assert "secret" not in message


@pytest.mark.parametrize("source, count, expected", [
    ("users", "99999999999999999999", "is more than the sink can number (ids up to 9,223,372,036,854,775,807)"),
    ("users", "1000000000000", "need about 650 TB at"),
    ("pageviews", "100000000000", "need about 34 TB at"),
])
def test_counts_past_what_the_sinks_hold_are_refused_before_anything_is_written(
        tmp_path: Path, source: str, count: str, expected: str) -> None:
    """They grew to gigabytes of memory without writing anything (or ran until the disk was full)."""
    playground("generate", "users", "--count", "10", *dataset_args(tmp_path))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    message = fails("generate", source, "--count", count, *dataset_args(tmp_path))
    assert expected in message and "lower --count" in message
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_orders_past_a_32_bit_id_are_refused_for_a_server_database(tmp_path: Path) -> None:
    args = dataset_args(tmp_path)
    args[args.index("--orders-url") + 1] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    assert "ids up to 2,147,483,647" in fails("generate", "orders", "--count", "3000000000", *args)


def test_spans_are_made_as_they_are_taken() -> None:
    spans = chunks(0, 10**18, 65_536)
    assert next(spans) == (0, 65_536) and next(spans) == (65_536, 131_072)


@pytest.mark.integration
def test_help_starts_without_importing_the_generators_libraries() -> None:
    """`playground --help` starts at once: numpy, polars, faker and SQLAlchemy load only in the commands
    that use them (they take over a second to import; docs/BENCHMARKS.md has the start-up figures)."""
    probe = ("import sys; from typer.testing import CliRunner; from playground.generators.cli import app; "
             "assert CliRunner().invoke(app, ['--help']).exit_code == 0; "
             "print(sorted({'numpy', 'polars', 'faker', 'sqlalchemy', 'fsspec', 'duckdb'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.integration
def test_generating_users_loads_neither_sqlalchemy_nor_faker(tmp_path: Path) -> None:
    """Users need numpy and polars; SQLAlchemy loads where orders are written, Faker where pageviews
    take its user agents (the Czech lists are committed: generators/vocab_cs_CZ.json)."""
    probe = ("import sys; from typer.testing import CliRunner; from playground.generators.cli import app; "
             f"result = CliRunner().invoke(app, ['generate', 'users', '--count', '10', '--lake', {str(tmp_path)!r}]); "
             "assert result.exit_code == 0, result.output; "
             "print(sorted({'numpy', 'polars', 'faker', 'sqlalchemy'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "['numpy', 'polars']"
