# The Microsoft solution: the data playground's landing systems and generators, Synapse (a
# dedicated SQL pool for dbt), Stream Analytics and Azure Machine Learning (the order value model). One
# `terraform apply` deploys it all.

locals {
  event_hub_consumers  = ["dagster", "stream_analytics"]
  trusted_resource_ids = [module.synapse.workspace_id]
  compute_subnet_ids   = {} # Synapse and Stream Analytics reach the lake as trusted resource instances
}

module "synapse" {
  source                     = "../modules/synapse"
  name                       = local.name
  resource_group_name        = azurerm_resource_group.playground.name
  location                   = var.location
  tags                       = var.tags
  allowed_ip_ranges          = var.allowed_ip_ranges
  lake_storage_account_id    = module.data_lake.storage_account_id
  key_vault_id               = module.data_lake.key_vault_id
  log_analytics_workspace_id = module.data_lake.log_analytics_workspace_id
  sql_pool_sku               = var.sql_pool_sku
  rbac_propagation           = var.rbac_propagation
}

module "stream_analytics" {
  source                     = "../modules/stream_analytics"
  name                       = local.name
  resource_group_name        = azurerm_resource_group.playground.name
  location                   = var.location
  tags                       = var.tags
  storage_account_id         = module.data_lake.storage_account_id
  storage_account_name       = module.data_lake.storage_account_name
  eventhubs_namespace        = module.data_lake.eventhubs_namespace
  eventhubs_namespace_id     = module.data_lake.eventhubs_namespace_id
  consumer_group             = "stream_analytics"
  log_analytics_workspace_id = module.data_lake.log_analytics_workspace_id
  start_after                = [module.generators.container_group_id]
  rbac_propagation           = var.rbac_propagation
}

module "machine_learning" {
  source                     = "../modules/machine_learning"
  name                       = local.name
  resource_group_name        = azurerm_resource_group.playground.name
  location                   = var.location
  tags                       = var.tags
  allowed_ip_ranges          = var.allowed_ip_ranges
  log_analytics_workspace_id = module.data_lake.log_analytics_workspace_id
  trainer_object_id          = module.synapse.client_object_id
  rbac_propagation           = var.rbac_propagation
}
