"""The Terraform providers' own schemas, offline: each prebuilt CDK for Terraform package on PyPI ships
its provider's whole schema in a jsii assembly (`<package>/_jsii/*.jsii.tgz`, a JSON `.jsii` inside).
Every resource, data source and provider has a config struct listing its arguments (`optional` or
not) and its nested block types; each property's docs link the registry anchor that names its HCL
attribute. tests/services/provider_schemas/ installs the packages whose provider versions
terraform/'s constraints pin."""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tests.terraform_config import unquote

SCHEMAS_ENV = Path(__file__).parent / "services" / "provider_schemas" / ".venv"
# "Represents a {@link https://registry.terraform.io/providers/hashicorp/azurerm/4.55.0/docs/resources/x azurerm_x}"
REPRESENTS = re.compile(r"registry\.terraform\.io/providers/([\w-]+)/([\w-]+)/([\d.]+)/docs"
                        r"(?:/(resources|data-sources)/\w+)? (\w+)\}")
ANCHOR = re.compile(r"#(\w+) \w+#\1\}")
# Arguments every resource and data source takes from Terraform itself, not from its provider.
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}


@dataclass
class Block:
    """A schema block: its arguments (name -> required) and nested blocks (name -> (block, required))."""

    arguments: dict[str, bool] = field(default_factory=dict)
    blocks: dict[str, tuple[Block, bool]] = field(default_factory=dict)


@dataclass
class Provider:
    source: str  # e.g. hashicorp/azurerm
    version: str  # the provider version the package was generated from
    config: Block
    resources: dict[str, Block]
    data_sources: dict[str, Block]


def _struct_of(type_ref: dict) -> str | None:
    """The struct a property's type refers to (a nested block), through lists and IResolvable unions."""
    if "fqn" in type_ref:
        return type_ref["fqn"]
    if "collection" in type_ref:
        return _struct_of(type_ref["collection"]["elementtype"])
    if "union" in type_ref:
        structs = [s for t in type_ref["union"]["types"] if (s := _struct_of(t)) and s != "cdktf.IResolvable"]
        return structs[0] if structs else None
    return None


def _block(types: dict, fqn: str, seen: frozenset[str] = frozenset()) -> Block:
    block = Block()
    for prop in types[fqn].get("properties", []):
        anchor = ANCHOR.search(json.dumps(prop.get("docs", {})))
        if anchor is None:  # cdktf's own meta-arguments (TerraformMetaArguments) have none
            continue
        name, required = anchor.group(1), not prop.get("optional", False)
        struct = _struct_of(prop["type"])
        if struct and struct in types and types[struct].get("datatype") and struct not in seen:
            block.blocks[name] = (_block(types, struct, seen | {struct}), required)
        else:
            block.arguments[name] = required
    return block


def read_assembly(tgz: Path) -> Provider:
    with tarfile.open(tgz) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/.jsii"))
        types = json.load(archive.extractfile(member))["types"]
    resources: dict[str, Block] = {}
    data_sources: dict[str, Block] = {}
    config = source = version = None
    for fqn, spec in types.items():
        if spec.get("kind") != "class" or f"{fqn}Config" not in types:
            continue
        found = REPRESENTS.search(spec.get("docs", {}).get("summary", ""))
        if not found:
            continue
        namespace, name, release, kind, type_name = found.groups()
        block = _block(types, f"{fqn}Config")
        if kind == "resources":
            resources[type_name] = block
        elif kind == "data-sources":
            data_sources[type_name] = block
        else:
            config, source, version = block, f"{namespace}/{name}", release
    assert config is not None, f"{tgz.name}: no provider config"
    return Provider(source, version, config, resources, data_sources)


@cache
def providers() -> dict[str, Provider]:
    """Each installed provider schema, by local name (azurerm, databricks, ...)."""
    found = sorted(SCHEMAS_ENV.glob("lib/python*/site-packages/cdktf_cdktf_provider_*/_jsii/*.jsii.tgz"))
    assert found, f"no provider schemas in {SCHEMAS_ENV}: run `make setup-dev`"
    schemas = [read_assembly(tgz) for tgz in found]
    return {p.source.split("/")[1]: p for p in schemas}


def problems(body: dict, schema: Block, where: str, top: bool = True) -> list[str]:
    """What in a python-hcl2 block body the schema does not allow: unknown arguments or blocks,
    missing required ones, a block where the schema has an argument."""
    found: list[str] = []
    written: dict[str, list[dict] | None] = {}  # name -> block bodies, or None for an argument
    for key, value in body.items():
        if key.startswith("__") or (top and key in META_ARGUMENTS):
            continue
        if key == "dynamic":
            for dynamic in value:
                for name, spec in dynamic.items():
                    written.setdefault(unquote(name), []).extend(spec.get("content", []))
        elif isinstance(value, list) and value and all(isinstance(v, dict) and v.get("__is_block__") for v in value):
            written.setdefault(key, []).extend(value)
        else:
            written[key] = None
    for name, bodies in written.items():
        if name in schema.arguments:
            if bodies is not None:
                found.append(f"{where}: `{name}` is an argument, written as a block")
        elif name in schema.blocks:
            nested, _ = schema.blocks[name]
            for nested_body in bodies or []:  # an object attribute written `name = {...}` is not a block
                found.extend(problems(nested_body, nested, f"{where}.{name}", top=False))
        else:
            found.append(f"{where}: unknown {'block' if bodies is not None else 'argument'} `{name}`")
    required = [n for n, req in schema.arguments.items() if req] + [n for n, (_, req) in schema.blocks.items() if req]
    found.extend(f"{where}: missing required `{name}`" for name in required if name not in written)
    return found
