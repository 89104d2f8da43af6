"""terraform/ as far as these machines can check it without Azure's providers (README: Deploy to
Azure): formatting, structure read with python-hcl2, checkov, and the generators' image install."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import typer
from playground.generators.cli import app
from playground.io.bus import EVENTHUBS_SETTING

from dagster_project.provisioning.settings import TERRAFORM_DIR, env_settings
from dagster_project.provisioning.terraform import module_dirs, terraform_command
from dagster_project.solution_resources import resources_for
from dagster_project.solutions import SOLUTIONS
from tests.conftest import ROOT
from tests.terraform_config import BUILTIN_TYPES, FOLDERS, ROOTS, labels, parsed, resources, text, unquote

CHECKOV = ROOT / "tests" / "services" / "checkov" / ".venv" / "bin" / "checkov"


def providers_used(folder: Path) -> set[str]:
    types = set(resources(folder)) | set(resources(folder, "data"))
    return {t.split("_")[0] for t in types - BUILTIN_TYPES}


@pytest.mark.integration
def test_terraform_is_formatted() -> None:
    done = subprocess.run([*terraform_command(), "fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"run `terraform fmt -recursive terraform/`:\n{done.stdout}"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_variable_used_is_declared(folder: Path) -> None:
    used = set(re.findall(r"\bvar\.(\w+)", text(folder)))
    assert used <= set(labels(folder, "variable")), used - set(labels(folder, "variable"))


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_module_call_matches_the_module(folder: Path) -> None:
    """Each module output used exists; each argument is a variable of the module; each variable
    without a default is passed; a resource moved into a module is declared there and no longer here."""
    calls = labels(folder, "module")
    moved = re.compile(r"^moved \{.*?^\}", re.MULTILINE | re.DOTALL)
    for block in moved.findall(text(folder)):
        source = re.search(r"from\s*=\s*(\w+)\.(\w+)", block)
        target = re.search(r"to\s*=\s*module\.(\w+)\.(\w+)\.(\w+)", block)
        assert source and target, block
        assert source[2] not in resources(folder).get(source[1], {}), f"{source[0]} is still declared"
        assert target[3] in resources(folder / unquote(calls[target[1]]["source"])).get(target[2], {}), block
    for name, output in set(re.findall(r"\bmodule\.(\w+)\.(\w+)", moved.sub("", text(folder)))):
        module = folder / unquote(calls[name]["source"])
        assert output in labels(module, "output"), f"module.{name}.{output} is not an output of {module.name}"
    for name, body in calls.items():
        module = (folder / unquote(body["source"])).resolve()
        declared = labels(module, "variable")
        arguments = {k for k in body if k not in ("source", "__is_block__", "depends_on", "providers")}
        assert arguments <= set(declared), f"{name}: {arguments - set(declared)} not declared in {module.name}"
        required = {v for v, spec in declared.items() if "default" not in spec}
        assert required <= arguments, f"{name} does not pass {required - arguments}"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_provider_used_is_declared_with_a_version(folder: Path) -> None:
    """The original used azuread, null and local without declaring them."""
    declared: dict[str, dict] = {}
    for block in parsed(folder).get("terraform", []):
        for providers in block.get("required_providers", []):
            declared.update({k: v for k, v in providers.items() if k != "__is_block__"})
    used = providers_used(folder)
    if folder.name in ROOTS:  # a root configures every provider its modules use
        used |= {p for module in module_dirs(folder) for p in providers_used(module)}
    assert used <= set(declared), f"{folder.name} uses {used - set(declared)} undeclared"
    for name, spec in declared.items():
        assert re.match(r"~>|>=", unquote(spec["version"])), f"{name} has no version constraint"
    assert "timestamp()" not in text(folder), "timestamp() in a resource re-runs it on every apply"
    assert "null_resource" not in resources(folder)
    # No backend with the original's hard-coded subscription and tenant: local state unless the user passes one.
    assert all("backend" not in block for block in parsed(folder).get("terraform", []))


def container_commands() -> dict[str, list[str]]:
    """The generators' commands as deployed with the module's defaults."""
    folder = TERRAFORM_DIR / "modules" / "generators"
    defaults = {name: spec.get("default") for name, spec in labels(folder, "variable").items()}
    [local_block] = parsed(folder)["locals"]

    def resolved(command: list[str]) -> list[str]:
        out = []
        for word in map(unquote, command):
            match = re.fullmatch(r"\$\{var\.(\w+)\}", word)
            out.append(str(defaults[match.group(1)]) if match else word)
        return out

    commands = {unquote(c["name"]): resolved(c["command"]) for c in local_block["seed_commands"]}
    commands.update({name: resolved(c) for name, c in local_block["live_commands"].items()})
    return commands


def parse_with_the_cli(argv: list[str]):  # -> the CLI's click context
    """Parse (not run) a `playground` command line with the CLI's own parser."""
    assert argv[0] == "playground"
    group = typer.main.get_command(app)
    parent = group.context_class(group, info_name="playground")
    name, command, rest = group.resolve_command(parent, list(argv[1:]))
    return command.make_context(name, rest, parent=parent)


def test_each_container_runs_a_valid_playground_command() -> None:
    commands = container_commands()
    assert list(commands)[:3] == ["users", "products", "orders"], "seeded in dependency order"
    for name, argv in commands.items():
        context = parse_with_the_cli(argv)
        assert context.command.name == argv[1], name
    users = parse_with_the_cli(commands["users"]).params
    assert (users["count"], users["vip_count"]) == (1_000_000, 10_000)  # the original's defaults
    assert parse_with_the_cli(commands["stream"]).params["bus"] == "eventhubs"
    # ACI runs init containers again at each restart: they keep what is there, never reset it.
    assert all(parse_with_the_cli(commands[name]).params["keep_existing"] for name in ("users", "products", "orders"))
    with pytest.raises(Exception, match=r"No such option:? '?--vip"):  # the CLI's usage error
        parse_with_the_cli(["playground", "generate", "users", "--vip", "3"])


def test_the_stream_analytics_job_deploys_the_rendered_query_inputs_and_outputs() -> None:
    from dagster_project.streaming.stream_analytics import JOB_FILE, QUERY_FILE, render, render_job

    folder = TERRAFORM_DIR / "modules" / "stream_analytics"
    [job] = resources(folder)["azurerm_stream_analytics_job"].values()
    assert 'file("${path.module}/query.asaql")' in job["transformation_query"]
    assert QUERY_FILE.read_text() == render() and JOB_FILE.read_text() == render_job()
    into = set(re.findall(r"INTO \[([\w-]+)\]", render()))
    assert into == set(json.loads(JOB_FILE.read_text())["outputs"]) and len(into) == 8
    assert {"users", "vipusers"} == set(json.loads(JOB_FILE.read_text())["reference_inputs"])


def settings_read(target: str) -> set[str]:
    """Every environment setting a cloud target reads: its resources' EnvVars, its dbt profile's, the
    Event Hubs connection and the lake's account."""
    names = set(SOLUTIONS[target].dbt_settings) | {EVENTHUBS_SETTING, "AZURE_STORAGE_ACCOUNT_NAME"}
    for resource in resources_for(target).values():
        names.update(env_settings(resource))
    return names


@pytest.mark.parametrize("target", ["databricks", "microsoft"])
def test_the_roots_outputs_cover_every_setting_the_cloud_target_reads(target: str) -> None:
    root = TERRAFORM_DIR / SOLUTIONS[target].location
    outputs = {name.upper(): spec for name, spec in labels(root, "output").items()}
    needed = settings_read(target)
    assert {"PLAYGROUND_LAKE", "PLAYGROUND_ORDERS_URL", "EVENTHUBS_CONNECTION_STRING"} <= needed
    assert needed <= set(outputs), f"{root.name} lacks outputs for {needed - set(outputs)}"
    for secret in ("AZURE_STORAGE_ACCOUNT_KEY", "PLAYGROUND_ORDERS_URL", EVENTHUBS_SETTING):
        assert outputs[secret].get("sensitive") is True, secret


@pytest.mark.integration
def test_checkov_finds_no_failed_check_and_every_skip_says_why() -> None:
    assert CHECKOV.exists(), "checkov is missing: run `make setup-dev`"
    done = subprocess.run([str(CHECKOV), "-d", str(TERRAFORM_DIR), "--framework", "terraform", "--skip-download",
                           "--quiet", "-o", "json"], capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [(c["check_id"], c["resource"]) for r in reports for c in r["results"]["failed_checks"]]
    assert not failed, failed
    assert sum(r["summary"]["passed"] for r in reports) > 50
    for folder in FOLDERS:
        for line in text(folder).splitlines():
            if "#checkov:skip=" in line:
                assert re.search(r"#checkov:skip=CKV2?_AZURE_\d+: \w.{10,}", line), f"a skip without its reason: {line}"


def dockerfile() -> list[tuple[str, str]]:
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    return [tuple(line.split(None, 1)) for line in lines if line.strip() and not line.startswith("#")]


def test_the_dockerfile_runs_as_a_non_root_user_with_playground_as_entrypoint() -> None:
    instructions = dockerfile()
    final = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM"):]
    assert ("USER", "playground") in final
    assert ("ENTRYPOINT", '["playground"]') in final
    assert all("--frozen" in args for op, args in instructions if op == "RUN" and "uv sync" in args)


@pytest.mark.e2e
def test_the_dockerfiles_install_steps_give_a_working_playground(tmp_path: Path) -> None:
    """No Docker engine here: the build stage's COPY, ENV and `uv sync` steps replayed in a clean
    directory, with the machine's Python as the image's; then the image's entrypoint generates data."""
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    uv = ROOT / ".tools" / "bin" / "uv"
    build = dockerfile()[:next(i for i, (op, _) in enumerate(dockerfile()) if op == "FROM" and i > 0)]
    for op, args in build:
        if op == "COPY":
            *sources, dest = shlex.split(args)
            target = app_dir / dest
            for source in sources:
                src = ROOT / source
                into = target / src.name if dest.endswith("/") else target
                into.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(["cp", "-r", str(src), str(into)], check=True)
        elif op == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(args)))
        elif op == "RUN" and args.startswith("uv sync"):
            subprocess.run([str(uv), *shlex.split(args)[1:]], cwd=app_dir, env=env, check=True,
                           capture_output=True, timeout=540)
    playground = app_dir / ".venv" / "bin" / "playground"
    assert playground.exists()
    assert not (app_dir / ".venv" / "bin" / "pytest").exists(), "dev tools in the image"
    # The generators' distribution alone: neither Dagster, nor dbt, nor PySpark, nor DuckDB.
    [site] = (app_dir / ".venv" / "lib").glob("python3.*/site-packages")
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert "playground_generators" in installed
    assert not {name for name in installed if name.startswith(("dagster", "dbt", "pyspark", "duckdb"))}, installed
    assert not (site / "dagster_project").exists()
    lake = tmp_path / "lake"
    done = subprocess.run([str(playground), "generate", "users", "--count", "200", "--vip-count", "7", "--lake",
                           str(lake), "--quiet"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len((lake / "landing/users/users.json").read_text().splitlines()) == 200
    assert len((lake / "landing/vipusers/vipusers.json").read_text().splitlines()) == 7
    # The Azure, SQL Server and Kafka clients the containers use are installed.
    python = app_dir / ".venv" / "bin" / "python"
    subprocess.run([str(python), "-c", "import adlfs, pymssql, confluent_kafka"], check=True, timeout=60)


def test_the_databricks_jobs_run_this_repositorys_modules_through_the_launcher() -> None:
    from dagster_project.on_spark.streaming import event_hubs_kafka

    module = resources(TERRAFORM_DIR / "modules" / "databricks")
    [job] = module["databricks_job"].values()
    [task] = job["task"]
    [python_task] = task["spark_python_task"]
    assert unquote(python_task["python_file"]) == "${databricks_file.launcher.path}"
    wheels, job_module = (unquote(p) for p in python_task["parameters"][:2])
    assert (wheels, job_module) == ('${join(",", [for wheel in var.wheels : databricks_file.wheels[wheel].path])}',
                                    "dagster_project.on_spark.streaming")
    assert importlib.util.find_spec(job_module) is not None
    assert "library" not in task  # the wheel is imported, never pip-installed over the cluster's PySpark
    launcher = module["databricks_file"]["launcher"]
    assert unquote(launcher["path"]).endswith("/spark_launcher.py")  # spark_jobs.LAUNCHER
    assert (TERRAFORM_DIR / "modules" / "databricks" / "../../../dagster_project/on_spark/launcher.py").exists()

    connection = ("Endpoint=sb://pgabc-events.servicebus.windows.net/;SharedAccessKeyName=databricks-listen;"
                  "SharedAccessKey=k3y/with+base64==")
    bootstrap, jaas = event_hubs_kafka(connection)
    assert bootstrap == "pgabc-events.servicebus.windows.net:9093"
    assert 'username="$ConnectionString"' in jaas and f'password="{connection}";' in jaas
    with pytest.raises(ValueError, match="Endpoint=sb://"):
        event_hubs_kafka("SharedAccessKeyName=x;SharedAccessKey=y")


def test_the_generators_rates_are_bounded_in_terraform_as_the_generators_bound_them() -> None:
    """A rate the containers' `playground` would refuse is refused at plan time, not by a container restarting
    for good (issue 38, medium 10)."""
    from playground.generators.rates import MAX_EVENTS_PER_S, MAX_ORDERS_PER_S, MAX_PRODUCTS_PER_S

    variables = labels(TERRAFORM_DIR / "modules" / "generators", "variable")
    for name, low, high in (("products_per_second", ">= 0", MAX_PRODUCTS_PER_S),
                            ("orders_per_second", ">= 0", MAX_ORDERS_PER_S),
                            ("events_per_second", "> 0", MAX_EVENTS_PER_S)):
        [rule] = variables[name]["validation"]
        assert rule["condition"] == f"${{var.{name} {low} && var.{name} <= {high}}}", name
