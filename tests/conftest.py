"""Shared fixtures: small data sets, and real services started for the test session
(Azurite for Blob storage, a PostgreSQL server, librdkafka's mock Kafka cluster)."""

from __future__ import annotations

import contextlib
import glob
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from playground.generators.vocab import user_agents

# Faker is a pytest plugin, so pytest rewrites its modules as they are first imported. The pageview
# generator first imports them in a worker thread, where the rewrite can meet a garbage-collection
# finalizer (CPython 3.11: "SystemError: AST constructor recursion depth mismatch"; test_sensors alone
# failed so). Imported here, in the main thread, before any test.
user_agents()
# Probes that start a process once per process, done here so that no unit test starts one by chance of
# order: the standard library's `uname -p` (platform.platform(), which Azure's SDK asks for its user agent)
# and `file` (platform.architecture(), which Dagster's vendored croniter asks when first imported).
platform.platform()
import dagster  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ROOT / "tests" / "services"
# A cloud solution's settings file (written by its provisioning job) is never read from the repository
# in tests: each location loads `.env.<location>` from here, empty unless a test writes it.
os.environ["PLAYGROUND_SETTINGS_DIR"] = tempfile.mkdtemp(prefix="playground-settings-")
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


# Fixtures that start a server or a process (test_dbt's `built` and test_ml's run dbt): a test using one is integration.
INTEGRATION_FIXTURES = {"azurite", "postgres_url", "kafka_bootstrap", "built", "ml_features", "ml_playground"}


# `make test` runs the tests on two workers (pytest-xdist, --dist loadgroup) by groups: a module's tests stay
# together (its module fixtures are made once), and the modules that run `make` share one worker (its set-up
# syncs .venv).
RUN_MAKE = {"tests/test_up.py", "tests/test_dashboard.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Lanes, one per test: e2e as marked; integration as marked or using such a fixture; else unit. And each
    test's xdist group (a group's tests run on one worker)."""
    for item in items:
        module = item.nodeid.partition("::")[0]
        item.add_marker(pytest.mark.xdist_group("make" if module in RUN_MAKE else module))
        if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.integration)
        if not any(item.get_closest_marker(lane) for lane in ("integration", "e2e")):
            item.add_marker(pytest.mark.unit)


class NotAUnitTest(AssertionError):
    pass


@contextlib.contextmanager
def no_process_or_server(item: pytest.Item) -> Iterator[None]:
    """In a unit test (its fixtures included), starting a process or listening on a socket fails,
    naming the lane the test belongs in."""
    if not item.get_closest_marker("unit"):
        yield
        return

    def refuse(what: str):  # type: ignore[no-untyped-def]
        def refused(*args: object, **kwargs: object) -> None:
            raise NotAUnitTest(f"{item.nodeid} {what}: mark it `integration` (pytest.mark.integration)")
        return refused

    with mock.patch.object(subprocess.Popen, "_execute_child", refuse("started a process")), \
            mock.patch.object(socket.socket, "listen", refuse("listened on a socket")):
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with no_process_or_server(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with no_process_or_server(item):
        return (yield)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """A Blob storage emulator; yields its connection string."""
    binary = SERVICES / "node_modules" / ".bin" / "azurite-blob"
    assert binary.exists(), "Azurite is missing: run `make setup-dev` (npm ci in tests/services)"
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="azurite-")
    proc = subprocess.Popen(
        [str(binary), "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--location", workdir,
         "--blobHost", "127.0.0.1", "--blobPort", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};"
               f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;")
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server from Debian's binaries, on a free port."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    assert found, "PostgreSQL is missing: run `make setup-dev` (installs Debian's postgresql)"
    bindir = Path(found[-1]).parent
    workdir = Path(tempfile.mkdtemp(prefix="pg-"))
    data = workdir / "data"
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(workdir, "postgres")
    port = free_port()
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "playground", "-A", "trust"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o",
                    f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "-l", str(workdir / "log"), "-w", "start"], check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql+psycopg://playground@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def kafka_bootstrap() -> Iterator[str]:
    """librdkafka's mock cluster: the real Kafka wire protocol on 127.0.0.1, for other clients too.
    It creates topics on first use, with 4 partitions; a fresh, empty one for each test."""
    from confluent_kafka import Producer

    owner = Producer({"test.mock.num.brokers": 1, "log_level": 0})
    brokers = owner.list_topics(timeout=10).brokers
    yield ",".join(f"{b.host}:{b.port}" for b in brokers.values())
    owner.flush(1)
