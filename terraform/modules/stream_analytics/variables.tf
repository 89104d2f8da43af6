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

variable "eventhubs_namespace" {
  type = string
}

variable "eventhubs_namespace_id" {
  type = string
}

variable "consumer_group" {
  description = "The job's consumer group on both hubs."
  type        = string
  default     = "stream_analytics"
}

variable "streaming_units" {
  description = "The original ran 6; 1 (a third of a V2 unit) carries the playground's rates."
  type        = number
  default     = 1
}

variable "log_analytics_workspace_id" {
  type = string
}

variable "rbac_propagation" {
  description = "How long a new role assignment is waited for before its principal uses it (time_sleep)."
  type        = string
}

variable "start_after" {
  description = "IDs of what must exist before the job starts: the generators' container group, whose init containers write the reference data (users, VIP users)."
  type        = list(string)
}
