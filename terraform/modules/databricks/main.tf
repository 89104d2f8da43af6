# The Databricks solution's engines: a workspace on Unity Catalog reading the lake through an access
# connector, a catalog with schemas per tier, a SQL warehouse for dbt-databricks, the streaming job
# (dagster_project/streaming/spark_job.py, from this repository's wheel) and a secret scope.

locals {
  schemas = ["bronze", "silver", "gold", "streaming"]
  scope   = "playground"
  # Runs a module of the wheel on a cluster without pip-installing it (dagster_project/spark_launcher.py).
  launcher = "${path.module}/../../../dagster_project/spark_launcher.py"
}

resource "azurerm_databricks_workspace" "playground" {
  #checkov:skip=CKV2_AZURE_48: Microsoft-managed keys for DBFS root: the playground keeps its data in the lake, not DBFS (see the lake on customer-managed keys)
  #checkov:skip=CKV_AZURE_158: reached from the machine running Dagster and dbt over its public endpoint (token auth); private link needs a VNet-injected workspace
  name                              = "${var.name}-databricks"
  resource_group_name               = var.resource_group_name
  location                          = var.location
  sku                               = "premium" # Unity Catalog
  managed_resource_group_name       = "${var.resource_group_name}-databricks-managed"
  infrastructure_encryption_enabled = true
  tags                              = var.tags
}

resource "azurerm_databricks_access_connector" "lake" {
  name                = "${var.name}-lake-connector"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_role_assignment" "connector_uses_lake" {
  scope                = var.storage_account_id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_databricks_access_connector.lake.identity[0].principal_id
}

# Unity Catalog validates an external location by reading it as the connector at creation.
resource "time_sleep" "connector_grant_propagated" {
  create_duration = var.rbac_propagation
  depends_on      = [azurerm_role_assignment.connector_uses_lake]
}

# ---- Unity Catalog (the workspace's metastore, assigned automatically to new workspaces) ------

resource "databricks_storage_credential" "lake" {
  name = "${var.name}-lake"
  azure_managed_identity {
    access_connector_id = azurerm_databricks_access_connector.lake.id
  }
  comment    = "The playground's lake, through the access connector's managed identity"
  depends_on = [time_sleep.connector_grant_propagated]
}

resource "databricks_external_location" "lake" {
  for_each        = var.containers
  name            = "${var.name}-${each.key}"
  url             = "abfss://${each.value}@${var.storage_account_name}.dfs.core.windows.net/"
  credential_name = databricks_storage_credential.lake.name
}

resource "databricks_catalog" "playground" {
  name         = var.catalog
  storage_root = "${databricks_external_location.lake["gold"].url}catalog"
  comment      = "Data playground: bronze, silver, gold and streaming"
}

resource "databricks_schema" "tiers" {
  for_each     = toset(local.schemas)
  catalog_name = databricks_catalog.playground.name
  name         = each.key
}

resource "databricks_volume" "artifacts" {
  name         = "artifacts"
  catalog_name = databricks_catalog.playground.name
  schema_name  = databricks_schema.tiers["bronze"].name
  volume_type  = "MANAGED"
  comment      = "This repository's wheel and launcher for the jobs; Dagster Pipes' files; the bronze job's checkpoints"
}

resource "databricks_file" "wheel" {
  source = var.wheel
  path   = "${databricks_volume.artifacts.volume_path}/${basename(var.wheel)}"
}

resource "databricks_file" "launcher" {
  source = local.launcher
  path   = "${databricks_volume.artifacts.volume_path}/spark_launcher.py"
}

# ---- dbt-databricks' SQL warehouse and token ------------------------------------------------

resource "databricks_sql_endpoint" "dbt" {
  name                      = "${var.name}-dbt"
  cluster_size              = var.warehouse_size
  max_num_clusters          = 1
  auto_stop_mins            = 10 # serverless: nothing billed while stopped
  enable_serverless_compute = true
  warehouse_type            = "PRO"
}

resource "databricks_token" "dagster" {
  comment          = "Dagster and dbt (data playground)"
  lifetime_seconds = var.token_lifetime_days * 86400
}

# ---- Secrets the jobs read -----------------------------------------------------------------

resource "databricks_secret_scope" "playground" {
  name = local.scope
}

resource "databricks_secret" "values" {
  for_each = {
    eventhubs-listen = var.eventhubs_listen_connection_string
    orders-url       = var.orders_url
  }
  scope        = databricks_secret_scope.playground.name
  key          = each.key
  string_value = each.value
}

# ---- The streaming job (continuous; paused unless streaming_running) ------------------------

data "databricks_spark_version" "lts" {
  long_term_support = true
}

data "databricks_node_type" "smallest" {
  local_disk = true
}

resource "databricks_job" "streaming" {
  name = "${var.name}-streaming"

  continuous {
    pause_status = var.streaming_running ? "UNPAUSED" : "PAUSED"
  }

  task {
    task_key = "scenarios"
    new_cluster {
      spark_version      = data.databricks_spark_version.lts.id
      node_type_id       = data.databricks_node_type.smallest.id
      num_workers        = 1
      data_security_mode = "SINGLE_USER"
      spark_env_vars = {
        EVENTHUBS_CONNECTION_STRING = "{{secrets/${local.scope}/eventhubs-listen}}"
      }
    }
    spark_python_task {
      python_file = databricks_file.launcher.path
      parameters = [databricks_file.wheel.path, "dagster_project.streaming.spark_job",
      "--storage-account", var.storage_account_name]
    }
  }

  # Dagster's databricks_start_streaming / databricks_stop_streaming jobs unpause and pause it afterwards.
  lifecycle {
    ignore_changes = [continuous]
  }

  depends_on = [databricks_secret.values, databricks_external_location.lake]
}
