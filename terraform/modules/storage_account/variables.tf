variable "name" {
  description = "The account's name (3-24 lower-case letters and digits, unique in Azure)."
  type        = string
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
  description = "CIDR ranges let through the account's firewall (a /32 is written as its address, as Azure takes it)."
  type        = list(string)
}

variable "subnet_ids" {
  description = "Subnets let through the firewall by service endpoint (Microsoft.Storage)."
  type        = list(string)
  default     = []
}

variable "trusted_resource_ids" {
  description = "Azure resources let through the firewall by their managed identity (resource instance rules)."
  type        = list(string)
  default     = []
}

variable "hierarchical_namespace" {
  description = "ADLS gen2 (true), or plain blob storage for a service that cannot use it (Azure ML's default storage)."
  type        = bool
  default     = true
}
