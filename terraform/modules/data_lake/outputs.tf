output "storage_account_id" {
  value = module.lake.id
}

output "storage_account_name" {
  value = module.lake.name
}

output "storage_account_key" {
  value     = module.lake.primary_access_key
  sensitive = true
}

output "dfs_endpoint" {
  description = "https://<account>.dfs.core.windows.net/"
  value       = module.lake.primary_dfs_endpoint
}

output "containers" {
  description = "Container name by lake folder (landing, bronze, silver, gold)."
  value       = { for name, container in azurerm_storage_container.tiers : name => container.name }
}

output "eventhubs_namespace" {
  value = azurerm_eventhub_namespace.events.name
}

output "eventhubs_namespace_id" {
  value = azurerm_eventhub_namespace.events.id
}

output "event_hubs" {
  value = { for name, hub in azurerm_eventhub.streams : name => hub.name }
}

output "eventhubs_send_connection_string" {
  value     = azurerm_eventhub_namespace_authorization_rule.generators_send.primary_connection_string
  sensitive = true
}

output "eventhubs_listen_connection_strings" {
  description = "Listen-only connection string by consumer."
  value       = { for consumer, rule in azurerm_eventhub_namespace_authorization_rule.listen : consumer => rule.primary_connection_string }
  sensitive   = true
}

output "eventhubs_listen_keys" {
  description = "Listen-only rule name and key by consumer (Stream Analytics and Kafka clients take them apart)."
  value       = { for consumer, rule in azurerm_eventhub_namespace_authorization_rule.listen : consumer => { name = rule.name, key = rule.primary_key } }
  sensitive   = true
}

output "sql_server_fqdn" {
  value = azurerm_mssql_server.orders.fully_qualified_domain_name
}

output "sql_server_id" {
  value = azurerm_mssql_server.orders.id
}

output "sql_database" {
  value = azurerm_mssql_database.orders.name
}

output "sql_admin_login" {
  value = local.sql_admin_login
}

output "sql_admin_password" {
  value     = random_password.sql_admin.result
  sensitive = true
}

output "orders_admin_url" {
  description = "SQLAlchemy URL of the orders database (pymssql) as its administrator: only the provision's logins step uses it, once the firewall lets this machine in."
  value       = "mssql+pymssql://${local.sql_admin_login}:${urlencode(random_password.sql_admin.result)}@${azurerm_mssql_server.orders.fully_qualified_domain_name}:1433/${azurerm_mssql_database.orders.name}"
  sensitive   = true
  depends_on  = [azurerm_mssql_firewall_rule.allowed]
}

output "orders_logins" {
  description = "The writer's and the reader's login (name, password) and SQLAlchemy URL."
  value = { for role, password in random_password.orders_login : role => {
    name     = local.orders_logins[role]
    password = password.result
    url      = "mssql+pymssql://${local.orders_logins[role]}:${urlencode(password.result)}@${azurerm_mssql_server.orders.fully_qualified_domain_name}:1433/${azurerm_mssql_database.orders.name}"
  } }
  sensitive = true
}

output "key_vault_id" {
  value      = azurerm_key_vault.secrets.id
  depends_on = [time_sleep.deployer_grant_propagated] # so that others can write secrets into it
}

output "log_analytics_workspace_id" {
  value = azurerm_log_analytics_workspace.diagnostics.id
}

output "virtual_network_id" {
  value = azurerm_virtual_network.playground.id
}

output "virtual_network_name" {
  value = azurerm_virtual_network.playground.name
}

output "generators_subnet_id" {
  value = azurerm_subnet.generators.id
}
