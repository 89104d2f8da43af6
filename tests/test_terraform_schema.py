"""Every block under terraform/ checked against its provider's real schema, offline (tests/terraform_schema.py):
an unknown resource type, argument or block, a missing required one, or a block where the schema has
an argument fails, as `terraform validate` would with the providers installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.terraform_config import BUILTIN_TYPES, FOLDERS, parsed, unquote
from tests.terraform_schema import Block, problems, providers


def schema_problems(folder: Path) -> list[str]:
    found: list[str] = []
    for kind in ("resource", "data"):
        for item in parsed(folder).get(kind, []):
            for resource_type, named in item.items():
                resource_type = unquote(resource_type)
                if resource_type in BUILTIN_TYPES:
                    continue
                provider = providers().get(resource_type.split("_")[0])
                table = {} if provider is None else provider.resources if kind == "resource" else provider.data_sources
                if resource_type not in table:
                    found.append(f"{folder.name}: unknown {kind} type {resource_type}")
                    continue
                for name, body in named.items():
                    found += problems(body, table[resource_type], f"{folder.name}/{resource_type}.{unquote(name)}")
    for item in parsed(folder).get("provider", []):
        for name, body in item.items():
            found += problems(body, providers()[unquote(name)].config, f"{folder.name}/provider.{unquote(name)}")
    return found


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_block_matches_its_providers_schema(folder: Path) -> None:
    assert schema_problems(folder) == []


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_provider_constraints_pin_the_versions_the_schemas_describe(folder: Path) -> None:
    """`~> X.Y.Z` with the schema's X.Y: a newer minor release may add required arguments or rename
    some, which nothing here could check."""
    for block in parsed(folder).get("terraform", []):
        for required in block.get("required_providers", []):
            for name, spec in required.items():
                if name.startswith("__"):
                    continue
                schema = providers()[name]
                assert unquote(spec["source"]) == schema.source, name
                constraint = unquote(spec["version"])
                pinned = re.fullmatch(r"~> (\d+\.\d+)\.(\d+)", constraint)
                assert pinned, f"{folder.name}: {name} = {constraint!r}, not `~> X.Y.Z`"
                major_minor, patch = schema.version.rsplit(".", 1)
                assert pinned.group(1) == major_minor and int(pinned.group(2)) <= int(patch), \
                    f"{folder.name}: {name} {constraint} does not admit the schema's {schema.version}"


def test_the_check_reports_what_terraform_validate_would() -> None:
    """The checker itself, on the real azurerm_storage_account schema and a made-up body."""
    schema: Block = providers()["azurerm"].resources["azurerm_storage_account"]
    assert schema.arguments["account_tier"] is True and schema.arguments["tags"] is False
    body = {
        "name": '"x"', "resource_group_name": '"rg"', "location": '"westeurope"', "account_tier": '"Standard"',
        "account_replication_type": '"LRS"', "for_each": "${var.x}", "hns": True,
        "network_rules": [{"default_action": '"Deny"', "ip_rule": [], "__is_block__": True}],
        "identity": [{"__is_block__": True}],
        "tags": [{"__is_block__": True}],
        "dynamic": [{'"blob_properties"': {"content": [{"versioning": True, "__is_block__": True}]}}],
    }
    assert sorted(problems(body, schema, "sa")) == [
        "sa.blob_properties: unknown argument `versioning`",
        "sa.identity: missing required `type`",
        "sa.network_rules: unknown argument `ip_rule`",
        "sa: `tags` is an argument, written as a block",
        "sa: unknown argument `hns`",
    ]
    del body["account_tier"]
    assert "sa: missing required `account_tier`" in problems(body, schema, "sa")
