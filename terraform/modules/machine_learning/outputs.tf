output "workspace_name" {
  value = azurerm_machine_learning_workspace.playground.name
}

output "mlflow_tracking_uri" {
  description = "The workspace's MLflow tracking URI, as \"Configure MLflow for Azure Machine Learning\" builds it by hand: azureml://<region>.api.azureml.ms/mlflow/v1.0 and the workspace's resource id."
  value       = "azureml://${azurerm_machine_learning_workspace.playground.location}.api.azureml.ms/mlflow/v1.0${azurerm_machine_learning_workspace.playground.id}"
  depends_on  = [time_sleep.trainer_grant_propagated]
}
