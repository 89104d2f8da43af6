output "job_name" {
  value = azurerm_stream_analytics_job.scenarios.name
}

output "outputs" {
  description = "Lake folder of each output, by Stream Analytics output name."
  value       = { for name, output in local.job.outputs : name => "${output.container}/${output.path}" }
}
