"""Rules of Azure and of the Terraform providers that decide whether terraform/ survives its first apply
and each solution's first run. Nothing here reaches Azure: each rule is read from the configuration
(python-hcl2, references followed across modules) and cites where it comes from."""

from __future__ import annotations

import re

import pytest

from dagster_project.provisioning.settings import TERRAFORM_DIR
from tests.terraform_config import FOLDERS, ROOTS, _locals, labels, resources, unquote

MODULES = TERRAFORM_DIR / "modules"


def depends_on(body: dict) -> set[str]:
    return {re.sub(r"^\$\{|\}$", "", d) for d in body.get("depends_on", [])}


def blocks(body: dict, name: str) -> list[dict]:
    """The bodies of a block type in a python-hcl2 body, written out or as a `dynamic` block's content."""
    dynamic = [d[f'"{name}"'] for d in body.get("dynamic", []) if f'"{name}"' in d]
    return body.get(name, []) + [content for d in dynamic for content in d.get("content", [])]


def duration_seconds(text: str) -> int:
    """A Go duration as time_sleep takes it (`2m`, `90s`, `1m30s`)."""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([hms])", text)
    assert parts and "".join(n + u for n, u in parts) == text, text
    return sum(int(n) * units[u] for n, u in parts)


def test_a_container_group_with_an_ip_address_declares_a_port() -> None:
    """azurerm 4.55.0, internal/services/containers/container_group_resource.go: unless ip_address_type is
    "None", the group is sent an IPAddress whose Ports are the containers' `ports` (exposed_port when
    given); ACI refuses an address with no port (MissingIpAddressPorts). A group in a subnet must have a
    private address (ACI: "Deploy container instances into an Azure virtual network")."""
    for folder in FOLDERS:
        for name, group in resources(folder).get("azurerm_container_group", {}).items():
            address = unquote(group.get("ip_address_type", '"Public"'))
            if group.get("subnet_ids"):
                assert address == "Private", f"{folder.name}/{name}: a group in a subnet has a private address"
            if address == "None":
                continue
            assert group.get("exposed_port") or any(blocks(c, "ports") for c in blocks(group, "container")), \
                f"{folder.name}/{name}: an IP address with no port"


# Who uses a role assignment during the apply itself, right after it is made.
GRANT_USERS = {
    # Key Vault with RBAC: the deployer's secret writes (and the Synapse module's, through key_vault_id).
    ("data_lake", "azurerm_role_assignment.deployer_writes_secrets"): ["azurerm_key_vault_secret.generated"],
    # The generators' init containers write the lake at once.
    ("generators", "azurerm_role_assignment.generators_write_lake"): ["azurerm_container_group.generators"],
    # Unity Catalog reads the lake as the access connector to create the credential's external locations.
    ("databricks", "azurerm_role_assignment.connector_uses_lake"): ["databricks_storage_credential.lake"],
    # The job's start reads both hubs and writes the lake as its identity.
    ("stream_analytics", "azurerm_role_assignment.job_reads_hubs"): ["azurerm_stream_analytics_job_schedule.started"],
    ("stream_analytics", "azurerm_role_assignment.job_writes_lake"): ["azurerm_stream_analytics_job_schedule.started"],
    # The vulnerability assessment writes its container as the workspace's identity.
    ("synapse", "azurerm_role_assignment.workspace_uses_its_storage"):
        ["azurerm_synapse_sql_pool_vulnerability_assessment.warehouse"],
}


def test_nothing_uses_a_role_assignment_before_it_has_propagated() -> None:
    """Azure RBAC is eventually consistent: "it can take up to 10 minutes for changes to take effect"
    (Azure RBAC troubleshooting), and Key Vault's RBAC guide warns of the same latency, so a write made
    right after the grant is refused (403 ForbiddenByRbac). Azure's verified Key Vault module waits with a
    time_sleep for the same reason (wait_for_rbac_before_secret_operations). Whatever uses a grant during
    the apply depends on a time_sleep after it, never on the grant itself."""
    for folder in FOLDERS:
        found = resources(folder)
        sleeps = found.get("time_sleep", {})
        for kind, named in found.items():
            for name, body in named.items():
                grants = {d for d in depends_on(body) if d.startswith("azurerm_role_assignment.")}
                assert kind == "time_sleep" or not grants, \
                    f"{folder.name}/{kind}.{name} depends on {grants} directly: wait for propagation instead"
        for (module, grant), users in GRANT_USERS.items():
            if folder.name != module:
                continue
            for user in users:
                kind, name = user.split(".")
                waits = [s for s in depends_on(found[kind][name]) if s.startswith("time_sleep.")]
                assert any(grant in depends_on(sleeps[w.split(".")[1]]) for w in waits), \
                    f"{module}/{user} does not wait for {grant} to propagate"
    assert "time_sleep.deployer_grant_propagated" in depends_on(labels(MODULES / "data_lake", "output")["key_vault_id"])
    for root in ROOTS:
        default = labels(TERRAFORM_DIR / root, "variable")["rbac_propagation"]["default"]
        assert duration_seconds(unquote(default)) >= 60, "Azure's verified modules wait 30-60 s; the docs say minutes"


def test_the_stream_analytics_job_starts_after_its_reference_data_is_written() -> None:
    """Stream Analytics loads reference data when the job starts ("Use reference data for lookups"): it
    starts only after the generators' container group, which ACI creates once its init containers (users
    with VIP users first) have run to completion."""
    [schedule] = resources(MODULES / "stream_analytics")["azurerm_stream_analytics_job_schedule"].values()
    sleep = resources(MODULES / "stream_analytics")["time_sleep"]["ready_to_start"]
    assert "time_sleep.ready_to_start" in depends_on(schedule)
    assert "var.start_after" in str(sleep["triggers"])
    call = labels(TERRAFORM_DIR / "microsoft_solution", "module")["stream_analytics"]
    assert call["start_after"] == ["${module.generators.container_group_id}"]
    assert labels(MODULES / "generators", "output")["container_group_id"]["value"] == \
        "${azurerm_container_group.generators.id}"
    reference = {unquote(r["path_pattern"]) for r in
                 resources(MODULES / "stream_analytics")["azurerm_stream_analytics_reference_input_blob"].values()}
    assert reference == {"${each.value.path}"}


def test_synapse_reads_the_lake_as_its_workspace_identity() -> None:
    """Hadoop external tables over a firewalled ADLS account: a database scoped credential WITH IDENTITY =
    'Managed Service Identity' (created by dbt's register_bronze), the workspace's identity holding a
    Storage Blob Data role on the account, and the account letting the workspace through by a resource
    instance rule (Microsoft: "Use external tables with Synapse SQL"; "Configure Azure Storage firewalls
    and virtual networks", resource instances)."""
    synapse = resources(MODULES / "synapse")
    grant = synapse["azurerm_role_assignment"]["workspace_reads_lake"]
    assert grant["scope"] == "${var.lake_storage_account_id}"
    assert unquote(grant["role_definition_name"]) in ("Storage Blob Data Reader", "Storage Blob Data Contributor")
    assert grant["principal_id"] == "${azurerm_synapse_workspace.playground.identity[0].principal_id}"
    call = labels(TERRAFORM_DIR / "microsoft_solution", "module")["synapse"]
    assert call["lake_storage_account_id"] == "${module.data_lake.storage_account_id}"
    main = (TERRAFORM_DIR / "microsoft_solution" / "main.tf").read_text()
    assert re.search(r"trusted_resource_ids\s*=\s*\[module\.synapse\.workspace_id\]", main)
    lake = resources(MODULES / "storage_account")["azurerm_storage_account"]["this"]
    [rules] = lake["network_rules"]
    [access] = [d['"private_link_access"'] for d in rules["dynamic"] if '"private_link_access"' in d]
    assert access["for_each"] == "${var.trusted_resource_ids}"
    assert labels(MODULES / "data_lake", "module")["lake"]["trusted_resource_ids"] == "${var.trusted_resource_ids}"
    workspace = labels(MODULES / "synapse", "output")["workspace_id"]["value"]
    assert workspace == "${azurerm_synapse_workspace.playground.id}"


@pytest.mark.parametrize("event_time", [False, True], ids=["arrival time", "event time"])
def test_the_stream_analytics_query_uses_datediff_only_where_documented(event_time: bool) -> None:
    """ASA query language, DATEDIFF: with input aliases as its arguments (`DATEDIFF(minute, p, s)`) it is the
    time bound of a stream-to-stream JOIN, documented in the ON condition only; elsewhere (a SELECT list)
    it takes datetime expressions. The correlation's seconds_between is the difference of the inputs'
    timestamps (arrival: EventEnqueuedUtcTime; event time: event_time), in seconds as the local engine
    computes it ((s.t - p.t) / 1e6, tests/test_streaming.py)."""
    from dagster_project.streaming.stream_analytics import render

    query = render(event_time=event_time)
    statements = re.split(r"\n\n(?=SELECT|WITH)", query)
    checked = 0
    for statement in statements:
        aliases = set(re.findall(r"\]\s*(?:TIMESTAMP BY \w+\s*)?AS (\w+)", statement))
        on = statement.find(" ON ")
        for found in re.finditer(r"DATEDIFF\((\w+), ([^,]+), ([^)]+\)?)\)", statement):
            start, end = found.group(2).strip(), found.group(3).strip()
            if {start, end} <= aliases:
                assert 0 <= on < found.start(), f"DATEDIFF over aliases outside a JOIN's ON: {found.group(0)}"
            else:
                stamp = r"CAST\((\w+)\.event_time AS datetime\)" if event_time else r"(\w+)\.EventEnqueuedUtcTime"
                assert re.fullmatch(stamp, start) and re.fullmatch(stamp, end), found.group(0)
            checked += 1
    assert checked == 2
    assert "DATEDIFF(millisecond, " in query and ") / 1000.0 AS seconds_between" in query


def test_every_databricks_compute_that_reads_the_lake_has_a_network_path_to_it() -> None:
    """The lake and the orders database deny by default. Databricks: "You cannot use a storage firewall in a
    standard Azure Databricks deployment"; a VNet-injected workspace's classic compute reaches a firewalled
    account through its subnets (service endpoints the firewall allows), the control plane through the
    access connector's resource instance rule ("Configure trusted access to Azure Storage based on your
    managed identity"); serverless compute would need an account-level network connectivity configuration,
    so none is used. Checked: job clusters (the streaming job's, the bronze job Dagster submits), the SQL
    warehouse dbt uses, and what the control plane does (Unity Catalog's validation, volume uploads)."""
    from dagster_project.spark_jobs import DatabricksSparkJobs
    from tests.terraform_config import referenced

    root = TERRAFORM_DIR / "databricks_solution"
    databricks = resources(MODULES / "databricks")
    workspace = databricks["azurerm_databricks_workspace"]["playground"]
    [network] = workspace["custom_parameters"]
    call = (root, labels(root, "module")["databricks"])
    assert referenced(MODULES / "databricks", network["virtual_network_id"], call) == \
        {"data_lake/azurerm_virtual_network.playground"}
    subnets = {"databricks/azurerm_subnet.workspace"}
    for side in ("public", "private"):
        assert referenced(MODULES / "databricks", network[f"{side}_subnet_name"]) == subnets
    subnet = databricks["azurerm_subnet"]["workspace"]
    assert subnet["virtual_network_name"] == "${var.virtual_network_name}"
    assert {"Microsoft.Storage", "Microsoft.Sql"} <= {unquote(e) for e in subnet["service_endpoints"]}
    assert network["no_public_ip"] is True and databricks["azurerm_subnet_nat_gateway_association"]  # egress

    # The lake's firewall and the orders database's rules, followed from the root to the resources.
    data_lake = (root, labels(root, "module")["data_lake"])
    account = (MODULES / "data_lake", labels(MODULES / "data_lake", "module")["lake"], data_lake)
    lake = resources(MODULES / "storage_account")["azurerm_storage_account"]["this"]
    [rules] = lake["network_rules"]
    assert unquote(rules["default_action"]) == "Deny"
    assert subnets <= referenced(MODULES / "storage_account", rules["virtual_network_subnet_ids"], account)
    sql_rules = resources(MODULES / "data_lake")["azurerm_mssql_virtual_network_rule"]
    assert any(subnets <= referenced(MODULES / "data_lake", rule.get("for_each", ""), data_lake)
               for rule in sql_rules.values())
    [access] = [d['"private_link_access"'] for d in rules["dynamic"] if '"private_link_access"' in d]
    assert referenced(MODULES / "storage_account", access["for_each"], account) == \
        {"databricks/azurerm_databricks_access_connector.lake"}

    # Every compute is classic, in those subnets: no serverless warehouse, job or task environment.
    [warehouse] = databricks["databricks_sql_endpoint"].values()
    assert warehouse["enable_serverless_compute"] is False
    [streaming] = databricks["databricks_job"].values()
    assert all(task.get("new_cluster") for task in streaming["task"])
    assert "environment" not in streaming and "job_cluster" not in streaming
    jobs = DatabricksSparkJobs(host="h", token="t", storage_account="a", catalog="c", volume="/Volumes/c/b/a",
                               wheels="w.whl", secret_scope="s", streaming_job_id="1")
    task = jobs.task("dagster_project.on_spark.bronze", [])
    assert "new_cluster" in task and "environment_key" not in task and "existing_cluster_id" not in task


def test_dbts_principal_may_pause_and_resume_the_pool_and_nothing_more() -> None:
    """The dedicated pool bills by the hour from the apply on; Dagster's pause and resume jobs act as dbt's
    service principal (synapse_pool.py). Azure's built-in roles that allow pause/resume (Contributor, SQL
    DB Contributor) allow far more: a custom role with the pool's read, pause and resume actions
    (Microsoft.Synapse resource provider operations), assigned at the pool."""
    from dagster_project.solution_resources import resources_for
    from dagster_project.synapse_pool import SynapsePoolResource

    synapse = resources(MODULES / "synapse")
    [role] = synapse["azurerm_role_definition"].values()
    [permissions] = role["permissions"]
    assert {unquote(a) for a in permissions["actions"]} == {
        "Microsoft.Synapse/workspaces/sqlPools/read", "Microsoft.Synapse/workspaces/sqlPools/pause/action",
        "Microsoft.Synapse/workspaces/sqlPools/resume/action"}
    assert "data_actions" not in permissions and "not_actions" not in permissions
    grant = synapse["azurerm_role_assignment"]["dbt_operates_pool"]
    assert grant["scope"] == "${azurerm_synapse_sql_pool.warehouse.id}"
    assert grant["principal_id"] == "${azuread_service_principal.dbt.object_id}"
    assert grant["role_definition_id"] == "${azurerm_role_definition.pool_operator.role_definition_resource_id}"
    pool = resources_for("microsoft")["sql_pool"]
    assert isinstance(pool, SynapsePoolResource)
    assert pool.client_id.env_var_name == "AZURE_CLIENT_ID"  # dbt's principal (microsoft_solution's azure_client_id)


def test_each_warehouse_may_write_where_it_publishes_gold() -> None:
    """dbt's publish_to_lake writes gold into PLAYGROUND_GOLD_LOCATION (the lake's gold container): Synapse
    as its workspace identity (CETAS through the playground_gold data source: a Storage Blob Data role that
    writes, on that container), Databricks through the gold container's Unity Catalog external location
    (its owner, the identity that applied it and made the token dbt uses, has WRITE FILES on it)."""
    from tests.terraform_config import parsed, referenced

    synapse = resources(MODULES / "synapse")["azurerm_role_assignment"]["workspace_writes_gold"]
    assert unquote(synapse["scope"]) == "${var.lake_storage_account_id}/blobServices/default/containers/gold"
    assert unquote(synapse["role_definition_name"]) in ("Storage Blob Data Contributor", "Storage Blob Data Owner")
    assert synapse["principal_id"] == "${azurerm_synapse_workspace.playground.identity[0].principal_id}"
    [lake_locals] = parsed(MODULES / "data_lake")["locals"]
    assert "gold" in [unquote(c) for c in lake_locals["containers"]]
    location = resources(MODULES / "databricks")["databricks_external_location"]["lake"]
    assert location["for_each"] == "${var.containers}" and "read_only" not in location
    for root in ROOTS:
        output = labels(TERRAFORM_DIR / root, "output")["playground_gold_location"]["value"]
        assert unquote(output).startswith('abfss://${module.data_lake.containers["gold"]}@')
        assert referenced(TERRAFORM_DIR / root, output) == {"data_lake/azurerm_storage_container.tiers",
                                                             "storage_account/azurerm_storage_account.this"}


def test_every_storage_account_is_the_one_hardened_module() -> None:
    """The lake, the Synapse workspace's own storage and Azure ML's are all modules/storage_account (TLS 1.2,
    HTTPS only, no public blobs, infrastructure encryption, soft delete, a firewall denying by default): no
    module declares an account of its own, so a hardening is made once."""
    from tests.terraform_config import FOLDERS

    declaring = {folder.name for folder in FOLDERS if resources(folder).get("azurerm_storage_account")}
    assert declaring == {"storage_account"}
    calls = {(folder.name, name) for folder in FOLDERS for name, call in labels(folder, "module").items()
             if unquote(call["source"]) == "../storage_account"}
    assert calls == {("data_lake", "lake"), ("synapse", "workspace_storage"), ("machine_learning", "workspace_storage")}
    account = resources(MODULES / "storage_account")["azurerm_storage_account"]["this"]
    assert unquote(account["min_tls_version"]) == "TLS1_2" and account["https_traffic_only_enabled"] is True
    assert account["allow_nested_items_to_be_public"] is False and account["infrastructure_encryption_enabled"]
    [rules] = account["network_rules"]
    assert unquote(rules["default_action"]) == "Deny"


def test_azure_mls_storage_has_no_hierarchical_namespace_and_the_trainer_may_use_mlflow() -> None:
    """The workspace's default storage "cannot have a hierarchical namespace (used with Azure Data Lake Storage
    Gen2)" ("What is an Azure Machine Learning workspace?", Associated resources): an account of its own,
    not the lake. The trainer (dbt-synapse's principal, whose AZURE_CLIENT_* the MLflow plugin's
    azure-identity reads) holds AzureML Data Scientist on the workspace, a role "already configured to
    perform MLflow operations", and the tracking URI is the documented azureml://<region>.api.azureml.ms/
    mlflow/v1.0/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.MachineLearningServices/
    workspaces/<name> ("Configure MLflow for Azure Machine Learning"), given once the grant propagated."""
    folder = MODULES / "machine_learning"
    found = resources(folder)
    [workspace] = found["azurerm_machine_learning_workspace"].values()
    assert unquote(workspace["storage_account_id"]) == "${module.workspace_storage.id}"
    storage = labels(folder, "module")["workspace_storage"]
    assert storage["hierarchical_namespace"] is False and unquote(storage["source"]) == "../storage_account"
    assert "local.workspace_id" in str(storage["trusted_resource_ids"])  # its firewall lets the workspace in
    [grant] = found["azurerm_role_assignment"].values()
    assert unquote(grant["role_definition_name"]) == "AzureML Data Scientist"
    assert unquote(grant["scope"]) == "${azurerm_machine_learning_workspace.playground.id}"
    uri = labels(folder, "output")["mlflow_tracking_uri"]
    assert unquote(uri["value"]) == ("azureml://${azurerm_machine_learning_workspace.playground.location}"
                                     ".api.azureml.ms/mlflow/v1.0${azurerm_machine_learning_workspace.playground.id}")
    [sleep] = [s.split(".")[1] for s in depends_on(uri)]
    assert "azurerm_role_assignment.trainer_uses_workspace" in depends_on(found["time_sleep"][sleep])
    call = labels(TERRAFORM_DIR / "microsoft_solution", "module")["machine_learning"]
    assert unquote(call["trainer_object_id"]) == "${module.synapse.client_object_id}"


def test_the_unity_catalog_model_is_terraforms_and_its_champion_alias_trainings() -> None:
    """Training moves `champion` with MLflow's set_registered_model_alias; Unity Catalog lets the model's owner
    do so ("Set Registered Model Alias": a metastore admin, or the owner with USE_CATALOG and USE_SCHEMA), and
    the owner is whoever applies the root, as is the token the jobs run with. Terraform keeps the model and
    leaves its aliases alone, or each apply would take the alias training set away. The model lives in the
    `ml` schema the tiers' schemas include, named as DatabricksModelTracking registers it."""
    from dagster_project.ml.tracking import DatabricksModelTracking

    folder = MODULES / "databricks"
    [model] = resources(folder)["databricks_registered_model"].values()
    assert [rule["ignore_changes"] for rule in model["lifecycle"]] == [["aliases"]]
    assert unquote(model["schema_name"]) == '${databricks_schema.tiers["ml"].name}'
    assert {"features", "ml"} <= {unquote(schema) for schema in _locals(folder)["schemas"]}
    registered = DatabricksModelTracking.model_fields["model_name"].default
    assert unquote(model["name"]) == registered
