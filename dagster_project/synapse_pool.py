"""The Microsoft solution's dedicated SQL pool is billed by the hour while online, from the apply on:
the jobs `<prefix>_pause_sql_pool` and `<prefix>_resume_sql_pool` pause and resume it through Azure's
management API (azure-mgmt-synapse), as dbt's service principal, which Terraform allows only that
(terraform/modules/synapse: a role with read, pause and resume on the pool).
"""

from dagster import ConfigurableResource, JobDefinition
from pydantic import Field

from dagster_project.solutions import Solution
from dagster_project.switches import switch_jobs

ONLINE, PAUSED = "Online", "Paused"


class SynapsePoolResource(ConfigurableResource):
    """A Synapse workspace's dedicated SQL pool, as Azure Resource Manager manages it."""

    subscription_id: str = Field(description="The subscription (AZURE_SUBSCRIPTION_ID).")
    resource_group: str = Field(description="The resource group (PLAYGROUND_RESOURCE_GROUP).")
    workspace: str = Field(description="The Synapse workspace's name (SYNAPSE_WORKSPACE).")
    pool: str = Field(description="The dedicated SQL pool's name (SYNAPSE_DATABASE).")
    tenant_id: str = Field(description="dbt's service principal's tenant (AZURE_TENANT_ID).")
    client_id: str = Field(description="dbt's service principal (AZURE_CLIENT_ID).")
    client_secret: str = Field(description="Its secret (AZURE_CLIENT_SECRET).")
    management_endpoint: str = Field(default="https://management.azure.com",
                                     description="Azure Resource Manager (another cloud's, e.g. Azure China's).")

    def _credential(self):  # -> azure.core.credentials.TokenCredential
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(self.tenant_id, self.client_id, self.client_secret)

    def _pools(self):  # -> azure.mgmt.synapse.operations.SqlPoolsOperations
        from azure.mgmt.synapse import SynapseManagementClient

        client = SynapseManagementClient(self._credential(), self.subscription_id, base_url=self.management_endpoint,
                                         credential_scopes=[f"{self.management_endpoint.rstrip('/')}/.default"])
        return client.sql_pools

    def set_online(self, online: bool) -> dict[str, str]:
        """Resume or pause the pool and wait until Azure says it is done; nothing when it already is. Its
        state after."""
        pools = self._pools()
        found = pools.get(self.resource_group, self.workspace, self.pool)
        if found.status != (ONLINE if online else PAUSED):
            change = pools.begin_resume if online else pools.begin_pause
            change(self.resource_group, self.workspace, self.pool).result()
            found = pools.get(self.resource_group, self.workspace, self.pool)
        return {"pool": self.pool, "status": found.status, "sku": found.sku.name if found.sku else ""}


def sql_pool_jobs_for(solution: Solution) -> list[JobDefinition]:
    """`<prefix>_pause_sql_pool` and `<prefix>_resume_sql_pool`, for a solution with a `sql_pool` resource."""
    return switch_jobs(
        solution.job_name, "sql_pool", "sql_pool", ("pause", "resume"), "synapse",
        lambda verb: f"{solution.title}: {verb} the dedicated SQL pool dbt builds silver and gold on (billed by the "
                     "hour while online, only its storage while paused); waits until Azure is done.",
        lambda pool, online: pool.set_online(online))
