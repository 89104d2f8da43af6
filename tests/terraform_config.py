"""terraform/ as python-hcl2 reads it: each module's blocks, and where an expression's references lead
across locals, variables and module calls (Terraform's own graph needs the providers, which cannot be
downloaded here)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import hcl2

from dagster_project.provisioning.settings import TERRAFORM_DIR
from dagster_project.provisioning.terraform import module_dirs
from dagster_project.solutions import SOLUTIONS

ROOTS = [s.location for s in SOLUTIONS.values() if s.provisioned]
FOLDERS = sorted({folder for root in ROOTS for folder in module_dirs(TERRAFORM_DIR / root)})
BUILTIN_TYPES = {"terraform_data"}


def unquote(value: object) -> object:
    """python-hcl2 keeps a string literal's quotes."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@cache
def parsed(folder: Path) -> dict[str, list]:
    """Every top-level block of a module's .tf files, by block type."""
    blocks: dict[str, list] = {}
    for tf in sorted(folder.glob("*.tf")):
        with tf.open() as handle:
            for kind, items in hcl2.load(handle).items():
                blocks.setdefault(kind, []).extend(items)
    return blocks


def labels(folder: Path, kind: str) -> dict[str, dict]:
    return {unquote(name): body for item in parsed(folder).get(kind, []) for name, body in item.items()}


def text(folder: Path) -> str:
    return "\n".join(tf.read_text() for tf in sorted(folder.glob("*.tf")))


def resources(folder: Path, kind: str = "resource") -> dict[str, dict[str, dict]]:
    """Resource (or data source) bodies by type, then name."""
    found: dict[str, dict[str, dict]] = {}
    for item in parsed(folder).get(kind, []):
        for resource_type, named in item.items():
            found.setdefault(unquote(resource_type), {}).update({unquote(n): b for n, b in named.items()})
    return found


def module_folder(folder: Path, call: str) -> Path:
    return (folder / unquote(labels(folder, "module")[call]["source"])).resolve()


REFERENCE = re.compile(r"\b(module\.\w+\.\w+|var\.\w+|local\.\w+|data\.\w+\.\w+|[a-z]+_\w+\.\w+)")


def _locals(folder: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for block in parsed(folder).get("locals", []):
        found.update({k: v for k, v in block.items() if not k.startswith("__")})
    return found


# A module call seen from inside the module: the calling folder, the call's body, and that folder's own caller.
Caller = tuple[Path, dict] | tuple[Path, dict, "Caller | None"]


def referenced(folder: Path, value: object, caller: Caller | None = None) -> set[str]:
    """The resources an expression leads to, as `<module folder name>/<type>.<name>`, following
    locals, module outputs and (given the calling module and its call's body) variables, through
    nested modules."""
    found: set[str] = set()
    for ref in REFERENCE.findall(str(value)):
        kind, name, *rest = ref.split(".")
        if kind == "local":
            found |= referenced(folder, _locals(folder).get(name, ""), caller)
        elif kind == "var":
            if caller and name in caller[1]:
                found |= referenced(caller[0], caller[1][name], caller[2] if len(caller) > 2 else None)
        elif kind == "module":
            module = module_folder(folder, name)
            found |= referenced(module, labels(module, "output")[rest[0]]["value"],
                                (folder, labels(folder, "module")[name], caller))
        elif kind != "data" and kind in resources(folder) and name in resources(folder)[kind]:
            found.add(f"{folder.name}/{kind}.{name}")
    return found
