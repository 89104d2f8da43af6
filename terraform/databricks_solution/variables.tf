variable "wheel" {
  description = "This repository's wheel for the bronze and streaming jobs: `uv build --wheel` writes it to dist/."
  type        = string
}

variable "streaming_running" {
  description = "Start the continuous streaming job (a cluster billed while it runs); paused by default."
  type        = bool
  default     = false
}
