# The orders database's writer (the generators) and reader (bronze: Dagster's, and the Databricks job's
# JDBC read), made by its administrator from the machine running Terraform (in allowed_ip_ranges) with
# dagster_project/provisioning/orders_logins.py, so that nothing after the provision connects as the
# administrator. Built-in resources only: it runs wherever Terraform does (tests/test_orders_logins.py).

resource "terraform_data" "logins" {
  # Made again (the script is idempotent) when the database or a login changes.
  triggers_replace = [sha256(var.admin_url), var.writer.name, sha256(var.writer.password), var.reader.name,
  sha256(var.reader.password)]
  # What uses a login reads its URL from here, so it waits until the login exists.
  input = { writer_url = var.writer_url, reader_url = var.reader_url }

  provisioner "local-exec" {
    command     = "${var.python} -m dagster_project.provisioning.orders_logins"
    working_dir = var.repository
    environment = {
      ORDERS_ADMIN_URL       = var.admin_url
      ORDERS_WRITER          = var.writer.name
      ORDERS_WRITER_PASSWORD = var.writer.password
      ORDERS_READER          = var.reader.name
      ORDERS_READER_PASSWORD = var.reader.password
    }
  }
}
