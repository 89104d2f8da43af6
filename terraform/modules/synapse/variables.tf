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
  description = "CIDR ranges let through the workspace's firewall (the machines running dbt and Dagster)."
  type        = list(string)
}

variable "lake_storage_account_id" {
  description = "The playground's lake, which dbt's external tables read."
  type        = string
}

variable "key_vault_id" {
  type = string
}

variable "log_analytics_workspace_id" {
  type = string
}

variable "sql_pool_sku" {
  description = "Dedicated SQL pool size (dbt-synapse targets dedicated pools). DW100c is the smallest."
  type        = string
  default     = "DW100c"
}

variable "secret_rotation_days" {
  type    = number
  default = 180
}

variable "rbac_propagation" {
  description = "How long a new role assignment is waited for before its principal uses it (time_sleep)."
  type        = string
}
