output "synapse_server" {
  value = module.synapse.sql_server
}

output "synapse_workspace" {
  description = "Its dedicated SQL pool is paused and resumed by the jobs microsoft_pause_sql_pool / microsoft_resume_sql_pool."
  value       = module.synapse.workspace_name
}

output "azure_subscription_id" {
  value = module.synapse.subscription_id
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

output "azureml_mlflow_tracking_uri" {
  description = "The Azure Machine Learning workspace's MLflow: the order value model's training runs and registered versions."
  value       = module.machine_learning.mlflow_tracking_uri
}
