variable "sql_pool_sku" {
  description = "Synapse dedicated SQL pool size for dbt-synapse (billed per hour while online; pause it when idle)."
  type        = string
  default     = "DW100c"
}
