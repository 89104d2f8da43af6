variable "name" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "location" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "allowed_ip_ranges" {
  description = "Addresses that reach the workspace's storage and key vault (where Dagster runs training)."
  type        = list(string)
}

variable "log_analytics_workspace_id" {
  description = "Where the workspace's Application Insights keeps its data."
  type        = string
}

variable "trainer_object_id" {
  description = "The service principal training runs as (dbt-synapse's): granted AzureML Data Scientist."
  type        = string
}

variable "rbac_propagation" {
  type = string
}
