output "workspace_id" {
  value = azurerm_databricks_workspace.playground.id
}

output "host" {
  value = azurerm_databricks_workspace.playground.workspace_url
}

output "http_path" {
  description = "The SQL warehouse's HTTP path, for dbt-databricks."
  value       = databricks_sql_endpoint.dbt.odbc_params[0].path
}

output "token" {
  value     = databricks_token.dagster.token_value
  sensitive = true
}

output "catalog" {
  value = databricks_catalog.playground.name
}

output "streaming_job_id" {
  value = databricks_job.streaming.id
}

output "secret_scope" {
  value = databricks_secret_scope.playground.name
}

output "subnet_ids" {
  description = "The workspace's subnets, where its clusters and SQL warehouse run, by name."
  value       = { for key, subnet in azurerm_subnet.workspace : "databricks-${key}" => subnet.id }
}

output "access_connector_id" {
  value = azurerm_databricks_access_connector.lake.id
}

output "volume_path" {
  description = "The artifacts volume: the wheels and launcher, Pipes' files, the bronze job's checkpoints."
  value       = databricks_volume.artifacts.volume_path
}

output "wheel_files" {
  description = "The wheels' file names in the volume, comma-separated, in the order given."
  value       = join(",", [for wheel in var.wheels : basename(databricks_file.wheels[wheel].path)])
}

output "mlflow_experiment" {
  description = "The order value model's MLflow experiment (its workspace path)."
  value       = databricks_mlflow_experiment.order_value.name
}
