output "databricks_host" {
  value = module.databricks.host
}

output "databricks_http_path" {
  value = module.databricks.http_path
}

output "databricks_token" {
  value     = module.databricks.token
  sensitive = true
}

output "databricks_catalog" {
  value = module.databricks.catalog
}

output "databricks_streaming_job_id" {
  value = module.databricks.streaming_job_id
}
