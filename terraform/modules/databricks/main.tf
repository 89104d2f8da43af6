# The Databricks solution's engines: a workspace on Unity Catalog reading the lake through an access
# connector, a catalog with schemas per tier, a SQL warehouse for dbt-databricks, the streaming job
# (dagster_project/on_spark/streaming.py, from this repository's wheels) and a secret scope.
#
# The lake and the orders database deny by default, and "you cannot use a storage firewall in a standard
# Azure Databricks deployment" (Databricks: Use Azure managed identities in Unity Catalog). So the
# workspace is VNet-injected into the playground's network: its clusters and its classic SQL warehouse
# run in the two subnets below, which the lake and the orders database let through by service endpoint
# (the root passes them as compute_subnet_ids); the control plane reaches the lake as the access
# connector (a resource instance rule). Nothing runs on serverless compute, which would need a network
# connectivity configuration at the Databricks account level.

locals {
  schemas = ["bronze", "silver", "gold", "streaming", "features", "ml"]
  scope   = "playground"
  # Runs a module of the wheels on a cluster without pip-installing them (dagster_project/on_spark/launcher.py).
  launcher = "${path.module}/../../../dagster_project/on_spark/launcher.py"
}

# ---- The workspace's network: two delegated subnets (host and container), their security group, and a
# NAT gateway for egress (secure cluster connectivity gives the nodes no public address; clusters reach
# the control plane, Event Hubs and PyPI through it). ------------------------------------------------

resource "azurerm_subnet" "workspace" {
  #checkov:skip=CKV2_AZURE_31: both subnets get the workspace's security group (the for_each association below); checkov links only one of a for_each pair
  for_each             = { host = "10.42.2.0/24", container = "10.42.3.0/24" }
  name                 = "databricks-${each.key}"
  resource_group_name  = var.resource_group_name
  virtual_network_name = var.virtual_network_name
  address_prefixes     = [each.value]
  service_endpoints    = ["Microsoft.Storage", "Microsoft.Sql"]
  delegation {
    name = "databricks"
    service_delegation {
      name = "Microsoft.Databricks/workspaces"
      actions = [
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        "Microsoft.Network/virtualNetworks/subnets/prepareNetworkPolicies/action",
        "Microsoft.Network/virtualNetworks/subnets/unprepareNetworkPolicies/action",
      ]
    }
  }
}

# Databricks adds the rules its clusters need (network_security_group_rules_required = AllRules).
resource "azurerm_network_security_group" "workspace" {
  name                = "${var.name}-databricks-nsg"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_subnet_network_security_group_association" "workspace" {
  for_each                  = azurerm_subnet.workspace
  subnet_id                 = each.value.id
  network_security_group_id = azurerm_network_security_group.workspace.id
}

resource "azurerm_public_ip" "egress" {
  name                = "${var.name}-databricks-egress"
  resource_group_name = var.resource_group_name
  location            = var.location
  allocation_method   = "Static"
  sku                 = "Standard"
  tags                = var.tags
}

resource "azurerm_nat_gateway" "egress" {
  name                = "${var.name}-databricks-nat"
  resource_group_name = var.resource_group_name
  location            = var.location
  sku_name            = "Standard"
  tags                = var.tags
}

resource "azurerm_nat_gateway_public_ip_association" "egress" {
  nat_gateway_id       = azurerm_nat_gateway.egress.id
  public_ip_address_id = azurerm_public_ip.egress.id
}

resource "azurerm_subnet_nat_gateway_association" "egress" {
  for_each       = azurerm_subnet.workspace
  subnet_id      = each.value.id
  nat_gateway_id = azurerm_nat_gateway.egress.id
}

resource "azurerm_databricks_workspace" "playground" {
  #checkov:skip=CKV2_AZURE_48: Microsoft-managed keys for DBFS root: the playground keeps its data in the lake, not DBFS (see the lake on customer-managed keys)
  #checkov:skip=CKV_AZURE_158: reached from the machine running Dagster and dbt over its public endpoint (token auth): private link needs a private network for that machine, which a playground does not have
  name                              = "${var.name}-databricks"
  resource_group_name               = var.resource_group_name
  location                          = var.location
  sku                               = "premium" # Unity Catalog
  managed_resource_group_name       = "${var.resource_group_name}-databricks-managed"
  infrastructure_encryption_enabled = true
  tags                              = var.tags

  custom_parameters {
    no_public_ip                                         = true
    virtual_network_id                                   = var.virtual_network_id
    public_subnet_name                                   = azurerm_subnet.workspace["host"].name
    private_subnet_name                                  = azurerm_subnet.workspace["container"].name
    public_subnet_network_security_group_association_id  = azurerm_subnet_network_security_group_association.workspace["host"].id
    private_subnet_network_security_group_association_id = azurerm_subnet_network_security_group_association.workspace["container"].id
  }

  depends_on = [azurerm_subnet_nat_gateway_association.egress]
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
  comment      = "This repository's wheels and launcher for the jobs; Dagster Pipes' files; the bronze job's checkpoints"
}

resource "databricks_file" "wheels" {
  for_each = toset(var.wheels)
  source   = each.value
  path     = "${databricks_volume.artifacts.volume_path}/${basename(each.value)}"
}

resource "databricks_file" "launcher" {
  source = local.launcher
  path   = "${databricks_volume.artifacts.volume_path}/spark_launcher.py"
}

# ---- The order value model (dagster_project/ml/): its experiment and its model in Unity Catalog ----------

# Training runs (dagster_project/on_ml/order_value.py on a job cluster) are tracked here; the cluster's
# MLflow authenticates to the workspace by itself ("Choose where your MLflow data is stored").
resource "databricks_mlflow_experiment" "order_value" {
  name        = "/Shared/${var.name}-order-value"
  description = "Order value regression: the mean, a linear regression and gradient-boosted trees"
}

# Versions are registered by training, which moves the `champion` alias: Terraform keeps the model, not its
# aliases. Setting an alias takes the model's owner (Unity Catalog: Set Registered Model Alias), which is
# whoever applies this root, as is the token the jobs run with.
resource "databricks_registered_model" "order_value" {
  name         = "order_value"
  catalog_name = databricks_catalog.playground.name
  schema_name  = databricks_schema.tiers["ml"].name
  comment      = "The order value model; the alias `champion` serves the scores"

  lifecycle {
    ignore_changes = [aliases]
  }
}

# ---- dbt-databricks' SQL warehouse and token ------------------------------------------------

# Classic (not serverless): it runs in the workspace's subnets, which the lake's firewall lets through.
resource "databricks_sql_endpoint" "dbt" {
  name                      = "${var.name}-dbt"
  cluster_size              = var.warehouse_size
  max_num_clusters          = 1
  auto_stop_mins            = 10 # nothing billed by Databricks or for VMs while stopped
  enable_serverless_compute = false
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
      parameters = [join(",", [for wheel in var.wheels : databricks_file.wheels[wheel].path]), "dagster_project.on_spark.streaming",
      "--storage-account", var.storage_account_name]
    }
  }

  # Dagster's databricks_start_streaming / databricks_stop_streaming jobs unpause and pause it afterwards.
  lifecycle {
    ignore_changes = [continuous]
  }

  depends_on = [databricks_secret.values, databricks_external_location.lake]
}
