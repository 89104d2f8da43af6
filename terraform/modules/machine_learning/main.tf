# The Microsoft solution's Azure Machine Learning workspace: the order value model's training runs are
# tracked to its MLflow endpoint and the model is registered there (dagster_project/ml/). Training runs
# where Dagster runs, as the service principal below; the workspace needs, and gets here, what Azure ML
# requires of it: a storage account, a key vault and Application Insights.

data "azurerm_client_config" "current" {}

locals {
  workspace_name = "${var.name}-ml"
  # Known before the workspace exists, so its storage can trust it without a cycle.
  workspace_id = "/subscriptions/${data.azurerm_client_config.current.subscription_id}/resourceGroups/${var.resource_group_name}/providers/Microsoft.MachineLearningServices/workspaces/${local.workspace_name}"
}

# The workspace's default storage cannot have a hierarchical namespace ("What is an Azure Machine Learning
# workspace?", Associated resources): an account of its own, not the lake. MLflow's artifacts go here, written
# from where Dagster runs (allowed_ip_ranges).
module "workspace_storage" {
  source                 = "../storage_account"
  name                   = "${var.name}ml"
  resource_group_name    = var.resource_group_name
  location               = var.location
  tags                   = var.tags
  allowed_ip_ranges      = var.allowed_ip_ranges
  trusted_resource_ids   = [local.workspace_id]
  hierarchical_namespace = false
}

# Access policies, as in the provider's example: the workspace adds its own identity's when it is created.
resource "azurerm_key_vault" "workspace" {
  #checkov:skip=CKV2_AZURE_32: reached through its firewall (allowed_ip_ranges), not a private endpoint: a playground has no private network for the machine running Terraform
  #checkov:skip=CKV_AZURE_189: its public endpoint stays, behind a firewall that denies all but allowed_ip_ranges and trusted Azure services
  name                       = "${var.name}-mlkv"
  resource_group_name        = var.resource_group_name
  location                   = var.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  purge_protection_enabled   = true
  soft_delete_retention_days = 7
  tags                       = var.tags
  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
    ip_rules       = var.allowed_ip_ranges
  }
}

# Workspace-based: classic Application Insights resources are retired.
resource "azurerm_application_insights" "workspace" {
  name                = "${var.name}-ml-insights"
  resource_group_name = var.resource_group_name
  location            = var.location
  workspace_id        = var.log_analytics_workspace_id
  application_type    = "web"
  tags                = var.tags
}

resource "azurerm_machine_learning_workspace" "playground" {
  #checkov:skip=CKV_AZURE_144: public endpoint kept: Dagster's training reaches its MLflow endpoint from outside Azure; a playground has no private network
  #checkov:skip=CKV2_AZURE_49: the same public endpoint (its graph check): no private endpoint without a private network
  name                          = local.workspace_name
  resource_group_name           = var.resource_group_name
  location                      = var.location
  application_insights_id       = azurerm_application_insights.workspace.id
  key_vault_id                  = azurerm_key_vault.workspace.id
  storage_account_id            = module.workspace_storage.id
  public_network_access_enabled = true
  tags                          = var.tags

  identity {
    type = "SystemAssigned"
  }
}

# MLflow tracking and the model registry for the trainer ("Configure MLflow for Azure Machine Learning":
# AzureML Data Scientist can perform MLflow operations).
resource "azurerm_role_assignment" "trainer_uses_workspace" {
  scope                = azurerm_machine_learning_workspace.playground.id
  role_definition_name = "AzureML Data Scientist"
  principal_id         = var.trainer_object_id
}

resource "time_sleep" "trainer_grant_propagated" {
  create_duration = var.rbac_propagation
  depends_on      = [azurerm_role_assignment.trainer_uses_workspace]
}
