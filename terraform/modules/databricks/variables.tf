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

variable "wheels" {
  description = "Paths of this repository's wheels (`uv build --all-packages --wheel`, in dist/): the Dagster project's and the generators' (packages/generators), imported by the jobs' clusters."
  type        = list(string)
  validation {
    condition     = length(var.wheels) > 0 && alltrue([for w in var.wheels : endswith(w, ".whl")])
    error_message = "wheels lists the .whl files `uv build --all-packages --wheel` writes to dist/ (the project's and packages/generators')."
  }
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
