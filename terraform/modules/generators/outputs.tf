output "container_group_id" {
  description = "Created once the init containers have written users, VIP users, products and orders."
  value       = azurerm_container_group.generators.id
}

output "container_group_name" {
  value = azurerm_container_group.generators.name
}

output "identity_principal_id" {
  value = azurerm_user_assigned_identity.generators.principal_id
}

output "seed_commands" {
  description = "What the init containers run, once, in order."
  value       = local.seed_commands
}

output "live_commands" {
  value = local.live_commands
}
