# The Microsoft solution's warehouse: a Synapse workspace with its own storage and a dedicated SQL
# pool for dbt-synapse, which connects as a service principal of its own (the workspace's Entra
# admin) and reads the lake's bronze Parquet through external tables with that identity.

data "azurerm_client_config" "current" {}

resource "random_string" "login" {
  length  = 6
  special = false
  upper   = false
}

resource "random_password" "sql_admin" {
  length      = 32
  min_lower   = 2
  min_upper   = 2
  min_numeric = 2
  special     = false
}

resource "time_rotating" "secrets" {
  rotation_days = var.secret_rotation_days
}

module "workspace_storage" {
  source              = "../storage_account"
  name                = "${var.name}synapse"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
  allowed_ip_ranges   = var.allowed_ip_ranges
}

moved {
  from = azurerm_storage_account.workspace
  to   = module.workspace_storage.azurerm_storage_account.this
}

resource "azurerm_storage_data_lake_gen2_filesystem" "workspace" {
  name               = "synapse"
  storage_account_id = module.workspace_storage.id
}

resource "azurerm_synapse_workspace" "playground" {
  #checkov:skip=CKV_AZURE_240: Microsoft-managed keys (see the lake on customer-managed keys)
  #checkov:skip=CKV_AZURE_239: the password is generated (random_password) and kept in Key Vault, never in a file of the repository
  #checkov:skip=CKV2_AZURE_19: dbt connects from allowed_ip_ranges, the only rules (the original's AllowAll is gone)
  name                                 = "${var.name}-synapse"
  resource_group_name                  = var.resource_group_name
  location                             = var.location
  storage_data_lake_gen2_filesystem_id = azurerm_storage_data_lake_gen2_filesystem.workspace.id
  sql_administrator_login              = "playground${random_string.login.result}"
  sql_administrator_login_password     = random_password.sql_admin.result
  managed_virtual_network_enabled      = true
  data_exfiltration_protection_enabled = true
  public_network_access_enabled        = true # limited by the firewall rules below
  tags                                 = var.tags

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_role_assignment" "workspace_uses_its_storage" {
  scope                = module.workspace_storage.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_synapse_workspace.playground.identity[0].principal_id
}

# Only the allowed ranges: no AllowAll rule.
resource "azurerm_synapse_firewall_rule" "allowed" {
  for_each             = toset(var.allowed_ip_ranges)
  name                 = "allowed-${replace(each.key, "/[./]/", "-")}"
  synapse_workspace_id = azurerm_synapse_workspace.playground.id
  start_ip_address     = cidrhost(each.key, 0)
  end_ip_address       = cidrhost(each.key, -1)
}

resource "azurerm_synapse_sql_pool" "warehouse" {
  name                      = "playground"
  synapse_workspace_id      = azurerm_synapse_workspace.playground.id
  sku_name                  = var.sql_pool_sku
  create_mode               = "Default"
  storage_account_type      = "LRS"
  geo_backup_policy_enabled = false
  data_encrypted            = true
  tags                      = var.tags
}

resource "azurerm_synapse_workspace_extended_auditing_policy" "playground" {
  synapse_workspace_id   = azurerm_synapse_workspace.playground.id
  log_monitoring_enabled = true
  retention_in_days      = 91
}

resource "azurerm_synapse_sql_pool_extended_auditing_policy" "warehouse" {
  sql_pool_id            = azurerm_synapse_sql_pool.warehouse.id
  log_monitoring_enabled = true
  retention_in_days      = 91
}

resource "azurerm_synapse_sql_pool_security_alert_policy" "warehouse" {
  sql_pool_id                  = azurerm_synapse_sql_pool.warehouse.id
  policy_state                 = "Enabled"
  email_account_admins_enabled = true
  retention_days               = 91
}

# Its reports in the workspace's own storage, written with the workspace's identity.
resource "azurerm_storage_data_lake_gen2_filesystem" "assessments" {
  name               = "vulnerability-assessments"
  storage_account_id = module.workspace_storage.id
}

resource "azurerm_synapse_sql_pool_vulnerability_assessment" "warehouse" {
  sql_pool_security_alert_policy_id = azurerm_synapse_sql_pool_security_alert_policy.warehouse.id
  storage_container_path            = "${module.workspace_storage.primary_blob_endpoint}${azurerm_storage_data_lake_gen2_filesystem.assessments.name}/"
  recurring_scans {
    enabled                           = true
    email_subscription_admins_enabled = true
  }
  depends_on = [time_sleep.workspace_grants_propagated]
}

resource "azurerm_monitor_diagnostic_setting" "sql_pool" {
  name                       = "to-log-analytics"
  target_resource_id         = azurerm_synapse_sql_pool.warehouse.id
  log_analytics_workspace_id = var.log_analytics_workspace_id
  enabled_log {
    category_group = "allLogs"
  }
}

# ---- dbt's identity: a service principal, the workspace's Entra admin -----------------------

resource "azuread_application" "dbt" {
  display_name = "${var.name}-dbt-synapse"
}

resource "azuread_service_principal" "dbt" {
  client_id = azuread_application.dbt.client_id
}

resource "azuread_application_password" "dbt" {
  application_id = azuread_application.dbt.id
  display_name   = "dbt-synapse"
  end_date       = time_rotating.secrets.rotation_rfc3339
}

resource "azurerm_synapse_workspace_aad_admin" "dbt" {
  synapse_workspace_id = azurerm_synapse_workspace.playground.id
  login                = azuread_service_principal.dbt.display_name
  object_id            = azuread_service_principal.dbt.object_id
  tenant_id            = data.azurerm_client_config.current.tenant_id
}

# The pool reads bronze's external tables as the workspace's managed identity (the database scoped
# credential `WITH IDENTITY = 'Managed Service Identity'` that dbt's register_bronze creates), through the
# lake's firewall by the workspace's resource instance rule (the root's trusted_resource_ids).
resource "azurerm_role_assignment" "workspace_reads_lake" {
  scope                = var.lake_storage_account_id
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = azurerm_synapse_workspace.playground.identity[0].principal_id
}

# dbt's publish_to_lake writes gold into the lake's gold container (CETAS), as the same identity.
resource "azurerm_role_assignment" "workspace_writes_gold" {
  scope                = "${var.lake_storage_account_id}/blobServices/default/containers/gold"
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_synapse_workspace.playground.identity[0].principal_id
}

# The vulnerability assessment writes its reports as the workspace's identity at creation.
resource "time_sleep" "workspace_grants_propagated" {
  create_duration = var.rbac_propagation
  depends_on = [azurerm_role_assignment.workspace_uses_its_storage, azurerm_role_assignment.workspace_reads_lake,
  azurerm_role_assignment.workspace_writes_gold, azurerm_role_assignment.dbt_reads_lake]
}

resource "azurerm_role_assignment" "dbt_reads_lake" {
  scope                = var.lake_storage_account_id
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = azuread_service_principal.dbt.object_id
}

# The pool bills by the hour while online: dbt's principal may pause and resume it (Dagster's
# microsoft_pause_sql_pool / microsoft_resume_sql_pool jobs), nothing more.
resource "azurerm_role_definition" "pool_operator" {
  name              = "${var.name} Synapse SQL pool operator"
  scope             = regex("^/subscriptions/[^/]+/resourceGroups/[^/]+", azurerm_synapse_workspace.playground.id)
  description       = "Read, pause and resume the playground's dedicated SQL pool."
  assignable_scopes = [regex("^/subscriptions/[^/]+/resourceGroups/[^/]+", azurerm_synapse_workspace.playground.id)]
  permissions {
    actions = [
      "Microsoft.Synapse/workspaces/sqlPools/read",
      "Microsoft.Synapse/workspaces/sqlPools/pause/action",
      "Microsoft.Synapse/workspaces/sqlPools/resume/action",
    ]
  }
}

resource "azurerm_role_assignment" "dbt_operates_pool" {
  scope              = azurerm_synapse_sql_pool.warehouse.id
  role_definition_id = azurerm_role_definition.pool_operator.role_definition_resource_id
  principal_id       = azuread_service_principal.dbt.object_id
}

resource "azurerm_key_vault_secret" "generated" {
  for_each = {
    synapse-sql-admin-password = random_password.sql_admin.result
    dbt-client-secret          = azuread_application_password.dbt.value
  }
  name            = each.key
  value           = each.value
  key_vault_id    = var.key_vault_id
  content_type    = "text/plain"
  expiration_date = time_rotating.secrets.rotation_rfc3339
}

resource "azurerm_monitor_diagnostic_setting" "workspace" {
  name                       = "to-log-analytics"
  target_resource_id         = azurerm_synapse_workspace.playground.id
  log_analytics_workspace_id = var.log_analytics_workspace_id
  enabled_log {
    category_group = "allLogs"
  }
}
