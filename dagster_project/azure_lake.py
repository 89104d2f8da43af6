"""The cloud solutions' lake through dagster-azure's ADLS2 resource: the storage account and its
credential are configured as dagster-azure has them (key, SAS token or DefaultAzureCredential), and
the lake's files are read and written with adlfs from that credential.

Imported only by the cloud locations: dagster-azure takes over a second to import.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dagster import EnvVar
from dagster_azure.adls2 import ADLS2DefaultAzureCredential, ADLS2Key, ADLS2Resource, ADLS2SASToken

from dagster_project.resources import LakeResource

if TYPE_CHECKING:
    from playground.io.lake import Lake


def adls2_from_environment() -> ADLS2Resource:
    """The account from AZURE_STORAGE_ACCOUNT_NAME; its key (AZURE_STORAGE_ACCOUNT_KEY), else a SAS token
    (AZURE_STORAGE_SAS_TOKEN), else DefaultAzureCredential (a managed identity, `az login`, AZURE_CLIENT_*)."""
    credential: ADLS2Key | ADLS2SASToken | ADLS2DefaultAzureCredential
    if os.environ.get("AZURE_STORAGE_ACCOUNT_KEY"):
        credential = ADLS2Key(key=EnvVar("AZURE_STORAGE_ACCOUNT_KEY"))
    elif os.environ.get("AZURE_STORAGE_SAS_TOKEN"):
        credential = ADLS2SASToken(token=EnvVar("AZURE_STORAGE_SAS_TOKEN"))
    else:
        credential = ADLS2DefaultAzureCredential(kwargs={})
    return ADLS2Resource(storage_account=EnvVar("AZURE_STORAGE_ACCOUNT_NAME"), credential=credential)


def adlfs_options(adls2: ADLS2Resource) -> dict[str, object]:
    """adlfs' arguments for the resource's account and credential."""
    options: dict[str, object] = {"account_name": adls2.storage_account}
    credential = adls2.credential
    if isinstance(credential, ADLS2Key):
        options["account_key"] = credential.key
    elif isinstance(credential, ADLS2SASToken):
        options["sas_token"] = credential.token
    else:
        from azure.identity.aio import DefaultAzureCredential  # adlfs' clients are asynchronous

        options["credential"] = DefaultAzureCredential(**credential.kwargs)
        options["anon"] = False
    if adls2.endpoint_suffix != "core.windows.net":  # a sovereign cloud
        options["account_host"] = f"{adls2.storage_account}.blob.{adls2.endpoint_suffix}"
    return options


class AzureLakeResource(LakeResource):
    """The lake in ADLS gen2, by the ADLS2 resource's account and credential."""

    adls2: ADLS2Resource

    def open(self) -> Lake:
        from playground.io.lake import AZURE_PROTOCOLS, Lake

        on_azure = self.root.split("://", 1)[0] in AZURE_PROTOCOLS  # else a folder, for a try-out
        return Lake(self.root, storage_options=adlfs_options(self.adls2) if on_azure else None)
