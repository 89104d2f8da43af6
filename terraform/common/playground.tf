# The data playground every solution deploys: its name, resource group, landing systems (data lake
# module) and generators, with their variables and the settings they give the solution's code
# location. One file in one place, linked into each root (terraform/<solution>/playground.tf ->
# ../common/playground.tf); the root adds its own engines and sets local.event_hub_consumers,
# local.trusted_resource_ids and local.compute_subnet_ids.

# ---- Variables ----

variable "location" {
  description = "Azure region of every resource."
  type        = string
  default     = "westeurope"
}

variable "name" {
  description = "Prefix of every resource name (3-12 lower-case letters and digits); random when null."
  type        = string
  default     = null
}

variable "subscription_id" {
  description = "Azure subscription; null takes ARM_SUBSCRIPTION_ID or the Azure CLI's."
  type        = string
  default     = null
}

variable "allowed_ip_ranges" {
  description = "CIDR ranges of the machines that run Terraform, Dagster and dbt (e.g. [\"203.0.113.7/32\"])."
  type        = list(string)
}

variable "rbac_propagation" {
  description = "How long a new role assignment is waited for before its principal uses it (Azure RBAC is eventually consistent; a write right after the grant is refused 403)."
  type        = string
  default     = "2m"
}

variable "python" {
  description = "The Python that makes the orders database's logins (this repository's, with the mssql extra: make setup-cloud); null: the repository's .venv."
  type        = string
  default     = null
}

variable "tags" {
  type    = map(string)
  default = { project = "data-playground" }
}

variable "generator_image" {
  description = "The generators' image, built from this repository's Dockerfile and pushed (README: Deploy to Azure)."
  type        = string
}

variable "image_registry" {
  description = "Credentials of the registry holding generator_image; null for a public image."
  type = object({
    server   = string
    username = string
    password = string
  })
  default   = null
  sensitive = true
}

variable "generator_counts" {
  description = "Generated once: users, VIP users, products, orders (the original module's defaults were 1M, 10k, 100k, 10M; its roots overrode them)."
  type = object({
    users     = number
    vip_users = number
    products  = number
    orders    = number
  })
  default = {
    users     = 10000
    vip_users = 100
    products  = 1000
    orders    = 100000
  }
}

variable "generator_rates" {
  description = "Then, each second: new products, new orders, events (pageviews and stars)."
  type = object({
    products = number
    orders   = number
    events   = number
  })
  default = {
    products = 0.2
    orders   = 3
    events   = 1.5
  }
}

# ---- Resources ----

resource "random_string" "name" {
  length  = 8
  special = false
  upper   = false
  numeric = false
}

locals {
  name = coalesce(var.name, "pg${random_string.name.result}")
}

resource "azurerm_resource_group" "playground" {
  name     = "${local.name}-rg"
  location = var.location
  tags     = var.tags
}

module "data_lake" {
  source               = "../modules/data_lake"
  name                 = local.name
  resource_group_name  = azurerm_resource_group.playground.name
  location             = var.location
  tags                 = var.tags
  allowed_ip_ranges    = var.allowed_ip_ranges
  event_hub_consumers  = local.event_hub_consumers
  trusted_resource_ids = local.trusted_resource_ids
  compute_subnet_ids   = local.compute_subnet_ids
  rbac_propagation     = var.rbac_propagation
}

module "orders_logins" {
  source     = "../modules/orders_logins"
  admin_url  = module.data_lake.orders_admin_url
  writer     = { name = module.data_lake.orders_logins["writer"].name, password = module.data_lake.orders_logins["writer"].password }
  reader     = { name = module.data_lake.orders_logins["reader"].name, password = module.data_lake.orders_logins["reader"].password }
  writer_url = module.data_lake.orders_logins["writer"].url
  reader_url = module.data_lake.orders_logins["reader"].url
  python     = coalesce(var.python, "${abspath(path.root)}/../../.venv/bin/python")
  repository = abspath("${path.root}/../..")
}

module "generators" {
  source                           = "../modules/generators"
  name                             = local.name
  resource_group_name              = azurerm_resource_group.playground.name
  location                         = var.location
  tags                             = var.tags
  image                            = var.generator_image
  image_registry                   = var.image_registry
  subnet_id                        = module.data_lake.generators_subnet_id
  storage_account_id               = module.data_lake.storage_account_id
  storage_account_name             = module.data_lake.storage_account_name
  orders_url                       = module.orders_logins.writer_url
  eventhubs_send_connection_string = module.data_lake.eventhubs_send_connection_string
  users                            = var.generator_counts.users
  vip_users                        = var.generator_counts.vip_users
  products                         = var.generator_counts.products
  orders                           = var.generator_counts.orders
  products_per_second              = var.generator_rates.products
  orders_per_second                = var.generator_rates.orders
  events_per_second                = var.generator_rates.events
  rbac_propagation                 = var.rbac_propagation
}

# ---- Outputs ----

# Each output is a setting of the solution's code location: Dagster's provisioning job writes them,
# names upper-cased, to its .env file (README: Deploy to Azure); sensitive ones never reach a log.

output "playground_lake" {
  description = "The lake root: the storage account's containers (landing, bronze, silver, gold)."
  value       = "abfs://"
}

output "azure_storage_account_name" {
  value = module.data_lake.storage_account_name
}

output "azure_storage_account_key" {
  value     = module.data_lake.storage_account_key
  sensitive = true
}

output "playground_bronze_location" {
  description = "Bronze as the warehouse reads it."
  value       = "abfss://${module.data_lake.containers["bronze"]}@${module.data_lake.storage_account_name}.dfs.core.windows.net"
}

output "playground_gold_location" {
  description = "Where the solution's warehouse publishes gold for readers outside it (dbt's publish_to_lake)."
  value       = "abfss://${module.data_lake.containers["gold"]}@${module.data_lake.storage_account_name}.dfs.core.windows.net"
}

output "playground_orders_url" {
  description = "The orders database as bronze's reader (the generators write as their own login)."
  value       = module.orders_logins.reader_url
  sensitive   = true
}

output "eventhubs_connection_string" {
  description = "Listen-only, for Dagster's event sensors and streaming assets."
  value       = module.data_lake.eventhubs_listen_connection_strings["dagster"]
  sensitive   = true
}

output "playground_resource_group" {
  value = azurerm_resource_group.playground.name
}

output "playground_generators" {
  description = "The generators' container group."
  value       = module.generators.container_group_name
}
