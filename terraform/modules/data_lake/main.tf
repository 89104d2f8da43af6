# The data playground's landing systems: the lake (ADLS gen2), the event hubs, the orders database,
# with a Key Vault for generated secrets and a Log Analytics workspace for diagnostics.

data "azurerm_client_config" "current" {}

locals {
  containers      = ["landing", "bronze", "silver", "gold"]
  hubs            = jsondecode(file("${path.module}/topics.json")) # the catalog's topics (rendered)
  sql_admin_login = coalesce(var.sql_admin_login, "playground${random_string.login.result}")
  orders_logins   = { writer = "generators_writer", reader = "bronze_reader" }
  consumer_groups = { for pair in setproduct(local.hubs, var.event_hub_consumers) : "${pair[0]}-${pair[1]}" => { hub = pair[0], consumer = pair[1] } }
}

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

# The orders database's own logins (modules/orders_logins makes them): nothing but the provision uses the admin.
resource "random_password" "orders_login" {
  for_each    = toset(["writer", "reader"])
  length      = 32
  min_lower   = 2
  min_upper   = 2
  min_numeric = 2
  special     = false
}

resource "time_rotating" "secrets" {
  rotation_days = var.secret_rotation_days
}

resource "azurerm_log_analytics_workspace" "diagnostics" {
  name                = "${var.name}-logs"
  resource_group_name = var.resource_group_name
  location            = var.location
  sku                 = "PerGB2018"
  retention_in_days   = 30
  tags                = var.tags
}

# The generators run in this subnet, a solution's compute in subnets of its own (var.compute_subnet_ids);
# the orders database and the lake let them through by service endpoint.
resource "azurerm_virtual_network" "playground" {
  name                = "${var.name}-vnet"
  resource_group_name = var.resource_group_name
  location            = var.location
  address_space       = ["10.42.0.0/16"]
  tags                = var.tags
}

resource "azurerm_subnet" "generators" {
  name                 = "generators"
  resource_group_name  = var.resource_group_name
  virtual_network_name = azurerm_virtual_network.playground.name
  address_prefixes     = ["10.42.1.0/24"]
  service_endpoints    = ["Microsoft.Sql", "Microsoft.Storage", "Microsoft.EventHub"]
  delegation {
    name = "container-instances"
    service_delegation {
      name    = "Microsoft.ContainerInstance/containerGroups"
      actions = ["Microsoft.Network/virtualNetworks/subnets/action"]
    }
  }
}

# Nothing comes in: the generators only send.
resource "azurerm_network_security_group" "generators" {
  name                = "${var.name}-generators-nsg"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
  security_rule {
    name                       = "deny-inbound-from-internet"
    priority                   = 4000
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "Internet"
    destination_address_prefix = "*"
  }
}

resource "azurerm_subnet_network_security_group_association" "generators" {
  subnet_id                 = azurerm_subnet.generators.id
  network_security_group_id = azurerm_network_security_group.generators.id
}

# ---- Key Vault (RBAC): the generated secrets ----------------------------------------------------

resource "azurerm_key_vault" "secrets" {
  #checkov:skip=CKV2_AZURE_32: reached through its firewall (allowed_ip_ranges), not a private endpoint: a playground has no private network for the machine running Terraform
  #checkov:skip=CKV_AZURE_189: its public endpoint stays for Terraform to write secrets, behind a firewall that denies all but allowed_ip_ranges
  name                       = "${var.name}-kv"
  resource_group_name        = var.resource_group_name
  location                   = var.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  rbac_authorization_enabled = true
  purge_protection_enabled   = true
  soft_delete_retention_days = 7
  tags                       = var.tags
  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
    ip_rules       = var.allowed_ip_ranges
  }
}

resource "azurerm_role_assignment" "deployer_writes_secrets" {
  scope                = azurerm_key_vault.secrets.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

# Azure RBAC is eventually consistent: a secret written right after the grant gets 403 ForbiddenByRbac.
resource "time_sleep" "deployer_grant_propagated" {
  create_duration = var.rbac_propagation
  depends_on      = [azurerm_role_assignment.deployer_writes_secrets]
}

resource "azurerm_key_vault_secret" "generated" {
  for_each = {
    sql-admin-password        = random_password.sql_admin.result
    eventhubs-send-connection = azurerm_eventhub_namespace_authorization_rule.generators_send.primary_connection_string
  }
  name            = each.key
  value           = each.value
  key_vault_id    = azurerm_key_vault.secrets.id
  content_type    = "text/plain"
  expiration_date = time_rotating.secrets.rotation_rfc3339
  depends_on      = [time_sleep.deployer_grant_propagated]
}

# ---- The lake: ADLS gen2 -------------------------------------------------------------------------

module "lake" {
  source               = "../storage_account"
  name                 = "${var.name}lake"
  resource_group_name  = var.resource_group_name
  location             = var.location
  tags                 = var.tags
  allowed_ip_ranges    = var.allowed_ip_ranges
  subnet_ids           = concat([azurerm_subnet.generators.id], values(var.compute_subnet_ids))
  trusted_resource_ids = var.trusted_resource_ids
}

moved {
  from = azurerm_storage_account.lake
  to   = module.lake.azurerm_storage_account.this
}

resource "azurerm_storage_container" "tiers" {
  #checkov:skip=CKV2_AZURE_21: blob read logging is configured on the account's diagnostic setting below
  for_each              = toset(local.containers)
  name                  = each.key
  storage_account_id    = module.lake.id
  container_access_type = "private"
}

# ---- Event Hubs: pageviews and stars (Kafka endpoint on Standard) ------------------------------

resource "azurerm_eventhub_namespace" "events" {
  #checkov:skip=CKV2_AZURE_45: no private endpoint (see the Key Vault); producers and consumers authenticate with SAS rules
  name                          = "${var.name}-events"
  resource_group_name           = var.resource_group_name
  location                      = var.location
  sku                           = "Standard"
  capacity                      = 1
  minimum_tls_version           = "1.2"
  local_authentication_enabled  = true
  public_network_access_enabled = true
  tags                          = var.tags
}

resource "azurerm_eventhub" "streams" {
  for_each          = toset(local.hubs)
  name              = each.key
  namespace_id      = azurerm_eventhub_namespace.events.id
  partition_count   = 2
  message_retention = 1
}

# Producers can only send; each consumer can only listen, in a consumer group of its own.
resource "azurerm_eventhub_namespace_authorization_rule" "generators_send" {
  name                = "generators-send"
  namespace_name      = azurerm_eventhub_namespace.events.name
  resource_group_name = var.resource_group_name
  send                = true
  listen              = false
  manage              = false
}

resource "azurerm_eventhub_namespace_authorization_rule" "listen" {
  for_each            = var.event_hub_consumers
  name                = "${each.key}-listen"
  namespace_name      = azurerm_eventhub_namespace.events.name
  resource_group_name = var.resource_group_name
  send                = false
  listen              = true
  manage              = false
}

resource "azurerm_eventhub_consumer_group" "consumers" {
  for_each            = local.consumer_groups
  name                = each.value.consumer
  namespace_name      = azurerm_eventhub_namespace.events.name
  eventhub_name       = azurerm_eventhub.streams[each.value.hub].name
  resource_group_name = var.resource_group_name
}

# ---- Azure SQL: the orders database (serverless, pauses when idle) ----------------------------

resource "azurerm_mssql_server" "orders" {
  #checkov:skip=CKV_AZURE_113: public endpoint kept, limited to allowed_ip_ranges and the generators' subnet by the rules below
  #checkov:skip=CKV2_AZURE_45: no private endpoint (see the Key Vault)
  name                          = "${var.name}-sql"
  resource_group_name           = var.resource_group_name
  location                      = var.location
  version                       = "12.0"
  administrator_login           = local.sql_admin_login
  administrator_login_password  = random_password.sql_admin.result
  minimum_tls_version           = "1.2"
  public_network_access_enabled = true
  tags                          = var.tags

  identity {
    type = "SystemAssigned"
  }

  dynamic "azuread_administrator" {
    for_each = var.sql_entra_admin == null ? [] : [var.sql_entra_admin]
    content {
      login_username = azuread_administrator.value.login
      object_id      = azuread_administrator.value.object_id
    }
  }
}

resource "azurerm_mssql_database" "orders" {
  #checkov:skip=CKV_AZURE_224: ledger tables would make the generators' bulk loads append-only; orders are regenerated, not evidence
  #checkov:skip=CKV_AZURE_229: zone redundancy is unavailable for the serverless tier that auto-pauses
  name                        = "orders"
  server_id                   = azurerm_mssql_server.orders.id
  sku_name                    = "GP_S_Gen5_1"
  min_capacity                = 0.5
  auto_pause_delay_in_minutes = 60
  max_size_gb                 = 32
  storage_account_type        = "Local"
  zone_redundant              = false
  tags                        = var.tags
}

resource "azurerm_mssql_server_extended_auditing_policy" "orders" {
  server_id              = azurerm_mssql_server.orders.id
  log_monitoring_enabled = true
  retention_in_days      = 91
}

resource "azurerm_mssql_server_security_alert_policy" "orders" {
  #checkov:skip=CKV_AZURE_26: alerts go to the subscription's admins (email_account_admins) and to security_alert_emails, empty unless given: no address can be invented here
  resource_group_name  = var.resource_group_name
  server_name          = azurerm_mssql_server.orders.name
  state                = "Enabled"
  email_account_admins = true
  email_addresses      = var.security_alert_emails
  retention_days       = 91
}

# Only the allowed ranges and the generators' subnet: no "allow all Azure services" rule.
resource "azurerm_mssql_firewall_rule" "allowed" {
  for_each         = { for range in var.allowed_ip_ranges : range => cidrhost(range, 0) }
  name             = "allowed-${replace(each.key, "/[./]/", "-")}"
  server_id        = azurerm_mssql_server.orders.id
  start_ip_address = cidrhost(each.key, 0)
  end_ip_address   = cidrhost(each.key, -1)
}

resource "azurerm_mssql_virtual_network_rule" "generators" {
  name      = "generators"
  server_id = azurerm_mssql_server.orders.id
  subnet_id = azurerm_subnet.generators.id
}

# The solution's own compute (Databricks' clusters and SQL warehouse read the orders by JDBC).
resource "azurerm_mssql_virtual_network_rule" "compute" {
  for_each  = var.compute_subnet_ids
  name      = each.key
  server_id = azurerm_mssql_server.orders.id
  subnet_id = each.value
}

# ---- Diagnostics into Log Analytics -----------------------------------------------------------

resource "azurerm_monitor_diagnostic_setting" "logs" {
  for_each = {
    key_vault  = azurerm_key_vault.secrets.id
    event_hubs = azurerm_eventhub_namespace.events.id
    orders_db  = azurerm_mssql_database.orders.id
    lake_blobs = "${module.lake.id}/blobServices/default"
  }
  name                       = "to-log-analytics"
  target_resource_id         = each.value
  log_analytics_workspace_id = azurerm_log_analytics_workspace.diagnostics.id
  enabled_log {
    category_group = "allLogs"
  }
  enabled_metric {
    category = "AllMetrics"
  }
}
