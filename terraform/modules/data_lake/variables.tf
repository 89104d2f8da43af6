variable "name" {
  description = "Prefix of every resource name: lower-case letters and digits, 3-12 characters."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,11}$", var.name))
    error_message = "name must be 3-12 lower-case letters and digits, starting with a letter."
  }
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
  description = "CIDR ranges of the machines that run Terraform and Dagster (e.g. [\"203.0.113.7/32\"]): the only public addresses let through the SQL, Key Vault and storage firewalls."
  type        = list(string)
}

variable "event_hub_consumers" {
  description = "Who reads the event hubs: each gets a listen-only rule and a consumer group on both hubs."
  type        = set(string)
  default     = ["dagster"]
}

variable "sql_admin_login" {
  description = "SQL administrator login; generated when null."
  type        = string
  default     = null
}

variable "sql_entra_admin" {
  description = "Microsoft Entra user or group administering the SQL server (login and object id); none when null."
  type = object({
    login     = string
    object_id = string
  })
  default = null
}

variable "security_alert_emails" {
  description = "Who else gets the SQL server's threat alerts (the subscription's admins always do)."
  type        = list(string)
  default     = []
}

variable "secret_rotation_days" {
  description = "Key Vault secrets expire (and Terraform renews them) after this many days."
  type        = number
  default     = 180
}

variable "trusted_resource_ids" {
  description = "Azure resources let through the lake's firewall by their managed identity (e.g. the Databricks access connector, the Synapse workspace)."
  type        = list(string)
  default     = []
}

variable "rbac_propagation" {
  description = "How long a new role assignment is waited for before its principal uses it (time_sleep)."
  type        = string
}

variable "compute_subnet_ids" {
  description = "Subnets of the solution's compute, by name (e.g. the Databricks workspace's), let through the lake's and the orders database's firewalls by service endpoint (Microsoft.Storage, Microsoft.Sql)."
  type        = map(string)
  default     = {}
}
