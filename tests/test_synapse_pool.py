"""The Microsoft solution's jobs pause and resume its dedicated SQL pool through azure-mgmt-synapse. No
Azure here: a small HTTPS server (a certificate made for 127.0.0.1 and trusted for the test) answers the
Resource Manager calls as Azure documents them (SQL Pools - Get, Pause, Resume; long-running operations
answered 202 with a Location to poll), and records what Dagster asked."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from azure.core.credentials import AccessToken
from dagster import DagsterInstance

from dagster_project.assembly import build_definitions
from dagster_project.synapse_pool import SynapsePoolResource

POOL = "/subscriptions/sub-1/resourceGroups/pg-rg/providers/Microsoft.Synapse/workspaces/pg-synapse/sqlPools/playground"


class FakeResourceManager(BaseHTTPRequestHandler):
    status = "Online"
    calls: ClassVar[list[tuple[str, str]]] = []

    def _reply(self, code: int, body: dict | None = None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body or {}).encode()
        self.send_response(code)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(data)),
                            **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _pool(self) -> dict:
        return {"id": POOL, "name": "playground", "type": "Microsoft.Synapse/workspaces/sqlPools",
                "location": "westeurope", "sku": {"name": "DW100c"}, "properties": {"status": self.status}}

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        FakeResourceManager.calls.append(("GET", path))
        assert self.headers["Authorization"] == "Bearer arm-token"
        if path == POOL:
            self._reply(200, self._pool())
        elif path.startswith(f"{POOL}/operationResults/"):
            FakeResourceManager.status = "Paused" if path.endswith("pause") else "Online"
            self._reply(200, self._pool())
        else:
            self._reply(404, {"error": {"code": "NotFound", "message": path}})

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        FakeResourceManager.calls.append(("POST", path))
        verb = path.rsplit("/", 1)[-1]
        assert path == f"{POOL}/{verb}" and verb in ("pause", "resume")
        FakeResourceManager.status = "Pausing" if verb == "pause" else "Resuming"
        host = f"https://127.0.0.1:{self.server.server_address[1]}"
        self._reply(202, headers={"Location": f"{host}{POOL}/operationResults/{verb}", "Retry-After": "0"})

    def log_message(self, *args: object) -> None:
        pass


def certificate_for_localhost(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "arm.pem", folder / "arm.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def resource_manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    cert, key = certificate_for_localhost(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeResourceManager)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # azure-core's transport trusts it

    class ServicePrincipal:  # stands in for Entra ID's token endpoint: dbt's principal, signed in
        def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            assert scopes == (f"https://127.0.0.1:{server.server_address[1]}/.default",)
            return AccessToken("arm-token", 4102444800)

    monkeypatch.setattr(SynapsePoolResource, "_credential", lambda self: ServicePrincipal())
    FakeResourceManager.status, FakeResourceManager.calls = "Online", []
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.integration
def test_the_pause_and_resume_jobs_switch_the_pool_and_wait_for_azure(resource_manager: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    settings = {"AZURE_SUBSCRIPTION_ID": "sub-1", "PLAYGROUND_RESOURCE_GROUP": "pg-rg", "SYNAPSE_WORKSPACE":
                "pg-synapse", "SYNAPSE_DATABASE": "playground", "AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c",
                "AZURE_CLIENT_SECRET": "s"}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    defs = build_definitions("microsoft")
    wired = defs.resources["sql_pool"]  # each field the EnvVar of a setting the provision writes
    pool = SynapsePoolResource(**{**{name: getattr(wired, name) for name in SynapsePoolResource.model_fields},
                                  "management_endpoint": resource_manager})
    instance = DagsterInstance.ephemeral()

    def run(job_name: str):
        return defs.resolve_job_def(job_name).execute_in_process(resources={"sql_pool": pool}, instance=instance)

    paused = run("microsoft_pause_sql_pool")
    assert paused.success
    assert FakeResourceManager.status == "Paused"
    assert ("POST", f"{POOL}/pause") in FakeResourceManager.calls
    assert ("GET", f"{POOL}/operationResults/pause") in FakeResourceManager.calls  # waited for Azure
    [state] = [e for e in paused.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert state.event_specific_data.metadata["status"].value == "Paused"
    assert state.event_specific_data.metadata["sku"].value == "DW100c"

    FakeResourceManager.calls = []
    assert run("microsoft_pause_sql_pool").success  # already paused: nothing asked of Azure but its state
    assert [c for c in FakeResourceManager.calls if c[0] == "POST"] == []

    assert run("microsoft_resume_sql_pool").success
    assert FakeResourceManager.status == "Online"
    assert ("POST", f"{POOL}/resume") in FakeResourceManager.calls


def test_without_its_settings_the_job_fails_naming_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_SUBSCRIPTION_ID", "SYNAPSE_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    result = build_definitions("microsoft").resolve_job_def("microsoft_pause_sql_pool").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    text = "\n".join(repr(event) for event in result.all_events)
    assert "AZURE_SUBSCRIPTION_ID" in text and "SYNAPSE_WORKSPACE" in text
