output "workspace_id" {
  value = azurerm_synapse_workspace.playground.id
}

output "sql_server" {
  description = "The dedicated pool's endpoint, for dbt-synapse."
  value       = azurerm_synapse_workspace.playground.connectivity_endpoints["sql"]
}

output "sql_database" {
  value      = azurerm_synapse_sql_pool.warehouse.name
  depends_on = [time_sleep.workspace_grants_propagated] # dbt reads the lake as soon as the settings exist
}

output "workspace_name" {
  value = azurerm_synapse_workspace.playground.name
}

output "subscription_id" {
  value = data.azurerm_client_config.current.subscription_id
}

output "tenant_id" {
  value = data.azurerm_client_config.current.tenant_id
}

output "client_id" {
  value = azuread_application.dbt.client_id
}

output "client_object_id" {
  description = "dbt-synapse's service principal, which the order value model's training runs as too."
  value       = azuread_service_principal.dbt.object_id
}

output "client_secret" {
  value     = azuread_application_password.dbt.value
  sensitive = true
}
