output "synapse_server" {
  value = module.synapse.sql_server
}

output "synapse_database" {
  value = module.synapse.sql_database
}

output "synapse_authentication" {
  value = "ServicePrincipal"
}

output "azure_tenant_id" {
  value = module.synapse.tenant_id
}

output "azure_client_id" {
  description = "dbt-synapse's service principal."
  value       = module.synapse.client_id
}

output "azure_client_secret" {
  value     = module.synapse.client_secret
  sensitive = true
}

output "stream_analytics_job" {
  value = module.stream_analytics.job_name
}
