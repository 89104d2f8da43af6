"""Dagster starts, stops and observes the Databricks solution's streaming job through the Databricks
SDK (dagster-databricks' client). No workspace is reachable here: a small HTTP server answers the
three Jobs API 2.2 calls as Databricks documents them, and records what Dagster asked."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from dagster import AssetKey, DagsterInstance

from dagster_project.assembly import build_definitions

JOB_ID = 123


class FakeJobsApi(BaseHTTPRequestHandler):
    paused = True
    calls: ClassVar[list[tuple[str, str, dict]]] = []

    def _reply(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        FakeJobsApi.calls.append(("GET", url.path, query))
        assert self.headers["Authorization"] == "Bearer dapi-test"
        if url.path == "/api/2.2/jobs/get":
            assert query["job_id"] == str(JOB_ID)
            status = "PAUSED" if FakeJobsApi.paused else "UNPAUSED"
            self._reply({"job_id": JOB_ID,
                         "settings": {"name": "pg-streaming", "continuous": {"pause_status": status}}})
        elif url.path == "/api/2.2/jobs/runs/list":
            runs = [] if FakeJobsApi.paused else [
                {"run_id": 77, "job_id": JOB_ID, "state": {"life_cycle_state": "RUNNING"}}]
            self._reply({"runs": runs, "has_more": False})
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeJobsApi.calls.append(("POST", self.path, body))
        assert self.path == "/api/2.2/jobs/update" and body["job_id"] == JOB_ID
        FakeJobsApi.paused = body["new_settings"]["continuous"]["pause_status"] == "PAUSED"
        self._reply({})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def databricks_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJobsApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeJobsApi.paused, FakeJobsApi.calls = True, []
    host = f"http://127.0.0.1:{server.server_port}"
    settings = {"DATABRICKS_HOST": host, "DATABRICKS_TOKEN": "dapi-test", "DATABRICKS_STREAMING_JOB_ID": str(JOB_ID),
                "AZURE_STORAGE_ACCOUNT_NAME": "acct", "DATABRICKS_CATALOG": "playground",
                "DATABRICKS_VOLUME": "/Volumes/playground/bronze/artifacts", "DATABRICKS_WHEELS": "w.whl",
                "DATABRICKS_SECRET_SCOPE": "playground", "PLAYGROUND_LAKE": str(tmp_path / "lake"),
                "PLAYGROUND_ORDERS_URL": "mssql+pymssql://nobody@127.0.0.1:1/none"}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    for name in ("DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    yield host
    server.shutdown()


@pytest.mark.integration
def test_dagster_starts_observes_and_stops_the_streaming_job(databricks_api: str) -> None:
    defs = build_definitions("databricks")
    instance = DagsterInstance.ephemeral()
    started = defs.resolve_job_def("databricks_start_streaming").execute_in_process(instance=instance)
    assert started.success and not FakeJobsApi.paused
    assert ("POST", "/api/2.2/jobs/update",
            {"job_id": JOB_ID, "new_settings": {"continuous": {"pause_status": "UNPAUSED"}}}) in FakeJobsApi.calls
    state = started.output_for_node("databricks_start_streaming_job")
    assert state == {"streaming_job": "pg-streaming", "pause_status": "UNPAUSED", "active_run": 77,
                     "run_state": "RUNNING"}

    observed = defs.resolve_job_def("databricks_observe_streaming").execute_in_process(instance=instance)
    assert observed.success
    [record] = instance.fetch_observations(AssetKey(["databricks", "streaming", "raw_pageviews"]), limit=1).records
    assert record.asset_observation.metadata["streaming_job"].value == "UNPAUSED, run RUNNING"

    stopped = defs.resolve_job_def("databricks_stop_streaming").execute_in_process(instance=instance)
    assert stopped.success and FakeJobsApi.paused
    assert stopped.output_for_node("databricks_stop_streaming_job")["active_run"] is None
