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

output "databricks_volume" {
  description = "Where the bronze job's wheels and launcher are, and where Dagster Pipes exchanges its files."
  value       = module.databricks.volume_path
}

output "databricks_wheels" {
  value = module.databricks.wheel_files
}

output "databricks_mlflow_experiment" {
  description = "Where the order value model's training runs are tracked; the model is <catalog>.ml.order_value."
  value       = module.databricks.mlflow_experiment
}

output "databricks_secret_scope" {
  description = "The secret scope holding orders-url, which the bronze job reads the orders database with."
  value       = module.databricks.secret_scope
}
