"""A cloud solution's settings: its Terraform root's outputs, names upper-cased, in a .env file of its
own (`.env.<location>` beside workspace.yaml, or in PLAYGROUND_SETTINGS_DIR). Its code location reads
that file when it loads, so a run started after a provisioning run sees the new endpoints; the file
holds secrets, so it is written readable by its owner only and never shown in a log."""

from __future__ import annotations

import json
import os
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from dotenv import dotenv_values
from playground.errors import PlaygroundError

REPO = Path(__file__).resolve().parents[2]
# Where the solutions' Terraform roots are (another folder of roots for a try-out, or the tests).
TERRAFORM_DIR = Path(os.environ.get("PLAYGROUND_TERRAFORM_DIR") or REPO / "terraform")


def settings_file(location: str) -> Path:
    return Path(os.environ.get("PLAYGROUND_SETTINGS_DIR") or REPO) / f".env.{location}"


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def write_settings(path: Path, outputs: dict[str, dict[str, object]]) -> None:
    """`terraform output -json` as NAME=value lines, put in place whole (a reader never sees half)."""
    lines = [f"{name.upper()}={json.dumps(_text(output['value']))}" for name, output in sorted(outputs.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.writing")
    fresh.unlink(missing_ok=True)
    descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("# Written by Dagster's provisioning job from `terraform output`; do not edit.\n")
        handle.write("\n".join(lines) + "\n")
    os.replace(fresh, path)


def load_settings(location: str) -> dict[str, str]:
    """Put the solution's settings into this process's environment (they win over inherited ones,
    which may be the local playground's), and return them."""
    path = settings_file(location)
    if not path.exists():
        return {}
    values = {name: value for name, value in dotenv_values(path).items() if value is not None}
    os.environ.update(values)
    return values


def env_settings(resource: object) -> list[str]:
    """The environment settings a resource's fields take (Dagster's EnvVar), nested resources' too."""
    from dagster import EnvVar

    names = []
    for name in getattr(type(resource), "model_fields", {}):
        value = getattr(resource, name, None)
        names += [value.env_var_name] if isinstance(value, EnvVar) else env_settings(value)
    return names


class MissingSettings(ConfigurableResource):
    """Stands in for a resource whose settings are not in the environment, so that a run needing it
    fails at once with one error naming every setting the location lacks, instead of one Dagster config
    error per field, or one resource's at a time."""

    resource: str
    location: str
    missing: list[str]

    def setup_for_execution(self, context: InitResourceContext) -> None:
        raise PlaygroundError(
            f"{self.location} needs {', '.join(self.missing)}, not set (its {self.resource} is the first to need "
            f"them): run its provisioning job (README: Deploy to Azure), which writes them to "
            f"{settings_file(self.location)}, or set them in the environment")


def checked(resources: dict[str, object], location: str,
            also: dict[str, tuple[str, ...]] | None = None) -> dict[str, object]:
    """The resources, each one whose settings are missing replaced by a MissingSettings naming all the location
    lacks. `also`: settings a resource needs beyond its EnvVar fields (dbt's profile reads the environment)."""
    needed = {name: [*env_settings(resource), *(also or {}).get(name, ())] for name, resource in resources.items()}
    missing = sorted({env for envs in needed.values() for env in envs if not os.environ.get(env)})
    return {name: MissingSettings(resource=name, location=location, missing=missing)
            if any(env in missing for env in needed[name]) else resource for name, resource in resources.items()}
