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

variable "image" {
  description = "The playground's generator image, built from this repository's Dockerfile and pushed to a registry (e.g. myregistry.azurecr.io/data-playground:1)."
  type        = string
}

variable "image_registry" {
  description = "Credentials of a private registry holding the image; null for a public one."
  type = object({
    server   = string
    username = string
    password = string
  })
  default   = null
  sensitive = true
}

variable "subnet_id" {
  description = "Subnet (delegated to container instances) the generators run in."
  type        = string
}

variable "storage_account_id" {
  type = string
}

variable "storage_account_name" {
  type = string
}

variable "orders_url" {
  description = "SQLAlchemy URL of the orders database."
  type        = string
  sensitive   = true
}

variable "eventhubs_send_connection_string" {
  type      = string
  sensitive = true
}

variable "seed" {
  description = "Same seed, same data set."
  type        = number
  default     = 42
}

variable "users" {
  description = "Users generated once (the original: 1,000,000)."
  type        = number
  default     = 1000000
}

variable "vip_users" {
  description = "VIP users among them, generated with the users (the original: 10,000)."
  type        = number
  default     = 10000
}

variable "products" {
  description = "Products generated once before the trickle (the original: 100,000)."
  type        = number
  default     = 100000
}

variable "orders" {
  description = "Orders (with their items) loaded once before the trickle (the original: 10,000,000)."
  type        = number
  default     = 10000000
}

variable "products_per_second" {
  description = "New products written to the lake each second, after the first ones (the original: 5)."
  type        = number
  default     = 5

  validation { # the bounds the generators take (packages/generators/playground/generators/rates.py)
    condition     = var.products_per_second >= 0 && var.products_per_second <= 100
    error_message = "products_per_second must be a number from 0 up to 100."
  }
}

variable "orders_per_second" {
  description = "New orders inserted each second, after the first ones (the original: 5)."
  type        = number
  default     = 5

  validation { # the bounds the generators take (packages/generators/playground/generators/rates.py)
    condition     = var.orders_per_second >= 0 && var.orders_per_second <= 100000
    error_message = "orders_per_second must be a number from 0 up to 100000."
  }
}

variable "events_per_second" {
  description = "Pageviews and stars sent to the event hubs each second."
  type        = number
  default     = 1.5

  validation { # the bounds the generators take (packages/generators/playground/generators/rates.py)
    condition     = var.events_per_second > 0 && var.events_per_second <= 50000
    error_message = "events_per_second must be a number above 0 up to 50000."
  }
}

variable "rbac_propagation" {
  description = "How long a new role assignment is waited for before its principal uses it (time_sleep)."
  type        = string
}
