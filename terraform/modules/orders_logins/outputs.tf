output "writer_url" {
  description = "The orders database as the generators' writer, once that login exists."
  value       = terraform_data.logins.output.writer_url
  sensitive   = true
}

output "reader_url" {
  description = "The orders database as bronze's reader, once that login exists."
  value       = terraform_data.logins.output.reader_url
  sensitive   = true
}
