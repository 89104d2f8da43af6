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

variable "storage_account_id" {
  type = string
}

variable "storage_account_name" {
  type = string
}

variable "containers" {
  description = "The lake's containers by folder (landing, bronze, silver, gold): an external location each."
  type        = map(string)
}

variable "catalog" {
  description = "Unity Catalog catalog holding the solution's schemas."
  type        = string
  default     = "playground"
}

variable "eventhubs_listen_connection_string" {
  description = "Listen-only connection string for the streaming job (kept in the secret scope)."
  type        = string
  sensitive   = true
}

variable "orders_url" {
  description = "The orders database's SQLAlchemy URL (kept in the secret scope for the bronze jobs)."
  type        = string
  sensitive   = true
}

variable "wheel" {
  description = "Path of this repository's wheel (`uv build --wheel`, in dist/), installed on the streaming job's cluster."
  type        = string
}

variable "streaming_running" {
  description = "Create the continuous streaming job running; paused by default (it costs a cluster while it runs). Dagster's start/stop jobs switch it afterwards."
  type        = bool
  default     = false
}

variable "warehouse_size" {
  description = "SQL warehouse size for dbt-databricks."
  type        = string
  default     = "2X-Small"
}

variable "token_lifetime_days" {
  description = "Lifetime of the token dbt and Dagster use."
  type        = number
  default     = 90
}

variable "rbac_propagation" {
  description = "How long a new role assignment is waited for before its principal uses it (time_sleep)."
  type        = string
}

variable "virtual_network_id" {
  description = "The playground's network, into which the workspace is injected."
  type        = string
}

variable "virtual_network_name" {
  type = string
}
