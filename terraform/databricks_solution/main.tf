# The Databricks solution: the data playground's landing systems and generators, and Databricks
# (Unity Catalog, a SQL warehouse for dbt, the streaming job). One `terraform apply` deploys it all.

locals {
  event_hub_consumers = ["dagster", "databricks"]
  # The control plane (Unity Catalog's checks, volume uploads) through the lake's firewall as the access
  # connector; clusters and the SQL warehouse from the workspace's own subnets.
  trusted_resource_ids = [module.databricks.access_connector_id]
  compute_subnet_ids   = module.databricks.subnet_ids
}

module "databricks" {
  source                             = "../modules/databricks"
  name                               = local.name
  resource_group_name                = azurerm_resource_group.playground.name
  virtual_network_id                 = module.data_lake.virtual_network_id
  virtual_network_name               = module.data_lake.virtual_network_name
  location                           = var.location
  tags                               = var.tags
  storage_account_id                 = module.data_lake.storage_account_id
  storage_account_name               = module.data_lake.storage_account_name
  containers                         = module.data_lake.containers
  eventhubs_listen_connection_string = module.data_lake.eventhubs_listen_connection_strings["databricks"]
  orders_url                         = module.orders_logins.reader_url
  wheels                             = var.wheels
  streaming_running                  = var.streaming_running
  rbac_propagation                   = var.rbac_propagation
}
