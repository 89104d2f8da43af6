"""The Dagster UI as a user meets it: `dagster dev -w workspace.yaml` in a real browser (Debian's
chromium, driven by Playwright; never `playwright install`). Every location loads, no page says an
asset is defined in two locations, Materialize on the local gold engagements runs to success, and
the Databricks solution's provisioning job, launched from its Launchpad with apply switched on,
applies a Terraform root (of built-in resources, so it runs here) and writes the solution's settings.
Screenshots are kept in test-artifacts/ui/."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus

from dagster_project.instance import prepare
from tests.conftest import ROOT, free_port
from tests.helpers import local_env

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "ui"
COLLISIONS = ("multiple code locations", "Multiple asset definitions", "defined in multiple")
TERRAFORM_FIXTURE = ROOT / "tests" / "fixtures" / "terraform"
LOCATIONS = {"data_playground": "gold", "databricks_solution": "databricks_gold",
             "microsoft_solution": "microsoft_gold"}


@pytest.fixture(scope="module")
def terraform_roots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of Terraform roots where the Databricks solution's is the tests' fixture root."""
    roots = tmp_path_factory.mktemp("terraform")
    shutil.copytree(TERRAFORM_FIXTURE / "modules", roots / "modules")
    shutil.copytree(TERRAFORM_FIXTURE / "root", roots / "databricks_solution")
    return roots


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory: pytest.TempPathFactory, terraform_roots: Path):  # type: ignore[no-untyped-def]
    """`make demo`'s data and run history in a temporary folder, and `dagster dev` over them on a free port."""
    work = tmp_path_factory.mktemp("ui")
    home = prepare(work / "dagster_home")
    env = local_env(work, PLAYGROUND_TERRAFORM_DIR=str(terraform_roots),
                    PLAYGROUND_SETTINGS_DIR=str(terraform_roots / "settings"))
    for name in ("PLAYGROUND_TARGET", "DATABRICKS_HOST", "SYNAPSE_SERVER"):
        env.pop(name, None)
    demo = subprocess.run([sys.executable, "-m", "dagster_project.demo"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    port = free_port()
    log = (work / "dagster_dev.log").open("wb")
    server = subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml",
                               "-h", "127.0.0.1", "-p", str(port)], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    ready = subprocess.run([sys.executable, "-m", "dagster_project.ui_ready", f"http://127.0.0.1:{port}"], cwd=ROOT,
                           capture_output=True, text=True, timeout=400)
    try:
        assert ready.returncode == 0, (work / "dagster_dev.log").read_text(errors="replace")[-3000:]
        yield f"http://127.0.0.1:{port}", DagsterInstance.from_config(str(home))
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        shutil.copy(work / "dagster_dev.log", ARTIFACTS / "dagster_dev.log")


@pytest.fixture(scope="module")
def page(dagster_dev):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `make setup-dev` (installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def visit(page, url: str, shot: str, wait_for: str) -> str:  # type: ignore[no-untyped-def]
    """Open a page as a user would (a new browser profile each test); the page's text once it shows."""
    page.goto(url)
    page.get_by_text(wait_for, exact=True).first.wait_for()
    page.wait_for_timeout(2000)  # statuses fill in
    # The instance turns Dagster's first-visit dialog off (dagster_instance.yaml: nux).
    assert not page.get_by_text("Join the Dagster community").count(), f"{url}: the community dialog covers it"
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    text = page.inner_text("body")
    for collision in COLLISIONS:
        assert collision.lower() not in text.lower(), f"{url} says {collision!r}"
    return text


def test_every_location_loads_and_shows_its_own_graph(dagster_dev, page) -> None:  # type: ignore[no-untyped-def]
    base, _ = dagster_dev
    text = visit(page, f"{base}/locations", "locations", "microsoft_solution")
    assert text.count("Loaded") >= 3 and "Failed" not in text
    # The UI lists locations by name: the local playground's sensors (running under `make up`) come before the
    # solutions' (stopped until their settings are there).
    text = visit(page, f"{base}/automation", "automation", "streaming_consumer_running")
    assert text.index("new_data") < text.index("databricks_new_data") < text.index("microsoft_new_data")
    text = visit(page, f"{base}/asset-groups", "global_lineage", "Global asset lineage")
    for group in ("gold", "databricks_gold", "microsoft_gold", "microsoft_streaming", "databricks_streaming"):
        assert group in text
    for location, group in LOCATIONS.items():
        text = visit(page, f"{base}/locations/{location}/asset-groups/{group}", location, group)
        assert "Empty graph" not in text
        assert "engagements" in text


def test_materialize_gold_engagements_from_the_ui(dagster_dev, page) -> None:  # type: ignore[no-untyped-def]
    base, instance = dagster_dev
    clicked = time.time()
    visit(page, f"{base}/assets/gold/engagements", "engagements_before", "engagements")
    page.locator("button:has-text('Materialize')").first.click()  # its name carries the icon's too
    engagements = AssetKey(["gold", "engagements"])
    deadline = time.time() + 300
    run = None
    while time.time() < deadline:
        runs = [r for r in instance.get_run_records(limit=20) if r.create_timestamp.timestamp() >= clicked - 1
                and engagements in (r.dagster_run.asset_selection or ())]
        run = runs[0].dagster_run if runs else None
        if run and run.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
            break
        time.sleep(2)
    assert run is not None, "no run was launched by the Materialize button"
    assert run.status == DagsterRunStatus.SUCCESS, f"run {run.run_id} ended {run.status}"
    assert run.tags.get("dagster/from_ui") == "true" or "dagster/sensor_name" not in run.tags
    text = visit(page, f"{base}/runs/{run.run_id}", "engagements_run", "Success")
    assert "gold/engagements" in text or "engagements" in text
    visit(page, f"{base}/assets/gold/engagements", "engagements_after", "engagements")
    # The Columns table: each column with its type and description (the model's yml)
    assert page.locator("tr").filter(has_text="is_vip").first.inner_text().split() == [
        "is_vip", "boolean", "Whether", "the", "user", "is", "a", "VIP."]


def test_provision_from_the_launchpad_applies_once_the_user_switches_apply_on(  # type: ignore[no-untyped-def]
        dagster_dev, page, terraform_roots) -> None:
    base, instance = dagster_dev
    visit(page, f"{base}/locations/databricks_solution/jobs/databricks_provision/playground", "provision_launchpad",
          "Launchpad")
    editor = page.locator(".CodeMirror")
    editor.get_by_text("false", exact=True).dblclick()  # plan only unless the user opts in
    page.keyboard.type("true")
    assert "apply: true" in editor.inner_text()
    page.get_by_role("button", name="Launch Run").click()
    page.wait_for_url("**/runs/**")
    run_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    deadline = time.time() + 180
    while (run := instance.get_run_by_id(run_id)) is None or not run.is_finished:
        assert time.time() < deadline, f"run {run_id} still {run and run.status}"
        time.sleep(2)
    assert run.status == DagsterRunStatus.SUCCESS, f"run {run_id} ended {run.status}"
    text = visit(page, f"{base}/runs/{run_id}", "provision_run", "Success")
    assert "plan: 2 to add, 0 to change, 0 to destroy" in text
    settings = (terraform_roots / "settings" / ".env.databricks_solution").read_text()
    assert 'GREETING="hello"' in settings
    token = next(line for line in settings.splitlines() if line.startswith("API_TOKEN=")).split("=", 1)[1]
    assert token.strip('"') not in text, "a sensitive output is on the run's page"
