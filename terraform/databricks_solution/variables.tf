variable "wheels" {
  description = "This repository's wheels for the jobs (the project's and packages/generators'): `uv build --all-packages --wheel` writes them to dist/."
  type        = list(string)
}

variable "streaming_running" {
  description = "Create the continuous streaming job running (a cluster billed while it runs); paused by default. Afterwards Dagster's databricks_start_streaming / databricks_stop_streaming jobs switch it."
  type        = bool
  default     = false
}
