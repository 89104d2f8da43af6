"""The cloud solutions' lake through dagster-azure's ADLS2 resource: which credential the environment
chooses, and the adlfs filesystem the lake gets from it (no request is made: Azurite has no ADLS
endpoint, so the lake's reads and writes against it are tested with a connection string instead,
in tests/test_observe.py and tests/test_sinks.py)."""

from __future__ import annotations

import pytest
from dagster_azure.adls2 import ADLS2DefaultAzureCredential, ADLS2Key, ADLS2Resource, ADLS2SASToken
from playground.errors import PlaygroundError
from playground.io import lake as lake_module

from dagster_project.azure_lake import AzureLakeResource, adlfs_options, adls2_from_environment
from dagster_project.provisioning.settings import env_settings
from dagster_project.solution_resources import resources_for

AZURE = ("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_CONNECTION_STRING")


@pytest.fixture(autouse=True)
def no_azure_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AZURE:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("setting", "kind"), [("AZURE_STORAGE_ACCOUNT_KEY", ADLS2Key),
                                               ("AZURE_STORAGE_SAS_TOKEN", ADLS2SASToken),
                                               (None, ADLS2DefaultAzureCredential)])
def test_the_environment_chooses_the_credential(setting: str | None, kind: type, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    if setting:
        monkeypatch.setenv(setting, "secret")
    adls2 = adls2_from_environment()
    assert isinstance(adls2.credential, kind)
    assert set(env_settings(adls2)) == {"AZURE_STORAGE_ACCOUNT_NAME", *([setting] if setting else [])}
    for target in ("databricks", "microsoft"):  # both solutions' lakes are read through it
        lake = resources_for(target)["lake"]
        assert isinstance(lake, AzureLakeResource) and isinstance(lake.adls2.credential, kind)


def test_the_lake_gets_the_accounts_filesystem_from_the_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    key = ADLS2Resource(storage_account="acct", credential=ADLS2Key(key="a2V5"))
    assert adlfs_options(key) == {"account_name": "acct", "account_key": "a2V5"}
    sas = ADLS2Resource(storage_account="acct", credential=ADLS2SASToken(token="sv=2024&sig=x"))
    assert adlfs_options(sas) == {"account_name": "acct", "sas_token": "sv=2024&sig=x"}
    default = adlfs_options(ADLS2Resource(storage_account="acct", credential=ADLS2DefaultAzureCredential(kwargs={}),
                                          endpoint_suffix="core.chinacloudapi.cn"))
    assert type(default["credential"]).__module__.startswith("azure.identity.aio")
    assert default["account_host"] == "acct.blob.core.chinacloudapi.cn" and default["anon"] is False

    resource = AzureLakeResource(root="abfs://", adls2=key)
    with pytest.raises(PlaygroundError, match=r"cannot reach the lake.s storage endpoint https://acct\.blob\.core"):
        resource.open()  # no account "acct" answers from here: said at once, not after minutes of retries
    monkeypatch.setattr(lake_module, "reachable", lambda endpoint: None)
    lake = resource.open()  # no AZURE_STORAGE_* in the environment: the resource's credential is used
    assert type(lake.fs).__name__ == "AzureBlobFileSystem"
    assert (lake.fs.account_name, lake.fs.account_key) == ("acct", "a2V5")
    assert lake.display("landing/users/users.json") == "abfs://landing/users/users.json"
