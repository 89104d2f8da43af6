variable "wheel" {
  description = "This repository's wheel for the bronze and streaming jobs: `uv build --wheel` writes it to dist/."
  type        = string
}

variable "streaming_running" {
  description = "Create the continuous streaming job running (a cluster billed while it runs); paused by default. Afterwards Dagster's databricks_start_streaming / databricks_stop_streaming jobs switch it."
  type        = bool
  default     = false
}
