variable "admin_url" {
  description = "SQLAlchemy URL of the orders database as its administrator."
  type        = string
  sensitive   = true
}

variable "writer" {
  description = "The generators' login: creates the tables, writes the orders."
  type        = object({ name = string, password = string })
  sensitive   = true
}

variable "reader" {
  description = "Bronze's login: reads the orders."
  type        = object({ name = string, password = string })
  sensitive   = true
}

variable "writer_url" {
  type      = string
  sensitive = true
}

variable "reader_url" {
  type      = string
  sensitive = true
}

variable "python" {
  description = "A Python with this repository's packages and the orders database's driver (make setup-cloud)."
  type        = string
}

variable "repository" {
  description = "This repository's root, where dagster_project/ is."
  type        = string
}
