# The Microsoft solution's streaming scenarios: a Stream Analytics job whose query, reference inputs
# and outputs are rendered from dagster_project/streaming/scenarios.py (query.asaql, job.json;
# `python -m dagster_project.streaming.stream_analytics`), reading both hubs and writing the lake
# with its managed identity, started once created.

locals {
  job = jsondecode(file("${path.module}/job.json"))
}

resource "azurerm_stream_analytics_job" "scenarios" {
  name                                     = "${var.name}-streaming"
  resource_group_name                      = var.resource_group_name
  location                                 = var.location
  compatibility_level                      = "1.2"
  data_locale                              = "en-US"
  events_late_arrival_max_delay_in_seconds = 60
  events_out_of_order_max_delay_in_seconds = 50
  events_out_of_order_policy               = "Adjust"
  output_error_policy                      = "Stop" # a malformed row stops the job rather than vanish
  streaming_units                          = var.streaming_units
  transformation_query                     = file("${path.module}/query.asaql") # arrival time, as the original
  tags                                     = var.tags

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_role_assignment" "job_reads_hubs" {
  scope                = var.eventhubs_namespace_id
  role_definition_name = "Azure Event Hubs Data Receiver"
  principal_id         = azurerm_stream_analytics_job.scenarios.identity[0].principal_id
}

resource "azurerm_role_assignment" "job_writes_lake" {
  scope                = var.storage_account_id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_stream_analytics_job.scenarios.identity[0].principal_id
}

resource "azurerm_stream_analytics_stream_input_eventhub_v2" "hubs" {
  for_each                     = toset(local.job.stream_inputs)
  name                         = each.key
  stream_analytics_job_id      = azurerm_stream_analytics_job.scenarios.id
  servicebus_namespace         = var.eventhubs_namespace
  eventhub_name                = each.key
  eventhub_consumer_group_name = var.consumer_group
  authentication_mode          = "Msi"

  serialization {
    type     = "Json"
    encoding = "UTF8"
  }
}

resource "azurerm_stream_analytics_reference_input_blob" "lake" {
  for_each                  = local.job.reference_inputs
  name                      = each.key
  stream_analytics_job_name = azurerm_stream_analytics_job.scenarios.name
  resource_group_name       = var.resource_group_name
  storage_account_name      = var.storage_account_name
  storage_container_name    = each.value.container
  path_pattern              = each.value.path
  date_format               = "yyyy/MM/dd"
  time_format               = "HH"
  authentication_mode       = "Msi"

  serialization {
    type     = "Json"
    encoding = "UTF8"
  }
}

# Parquet parts under <container>/streaming/<output>/, the folders the local engine writes.
resource "azurerm_stream_analytics_output_blob" "lake" {
  for_each                  = local.job.outputs
  name                      = each.key
  stream_analytics_job_name = azurerm_stream_analytics_job.scenarios.name
  resource_group_name       = var.resource_group_name
  storage_account_name      = var.storage_account_name
  storage_container_name    = each.value.container
  path_pattern              = "${each.value.path}/{date}/{time}"
  date_format               = "yyyy/MM/dd"
  time_format               = "HH"
  authentication_mode       = "Msi"
  batch_min_rows            = 100
  batch_max_wait_time       = "00:01:00"

  serialization {
    type = "Parquet"
  }
}

# The job starts once its identity's grants have propagated and the reference data it loads at start
# is in the lake (var.start_after: the generators' container group, created after its init containers).
resource "time_sleep" "ready_to_start" {
  create_duration = var.rbac_propagation
  triggers        = { after = join(",", var.start_after) }
  depends_on      = [azurerm_role_assignment.job_reads_hubs, azurerm_role_assignment.job_writes_lake]
}

resource "azurerm_stream_analytics_job_schedule" "started" {
  stream_analytics_job_id = azurerm_stream_analytics_job.scenarios.id
  start_mode              = "JobStartTime"
  depends_on = [
    azurerm_stream_analytics_stream_input_eventhub_v2.hubs,
    azurerm_stream_analytics_reference_input_blob.lake,
    azurerm_stream_analytics_output_blob.lake,
    time_sleep.ready_to_start,
  ]
}

resource "azurerm_monitor_diagnostic_setting" "job" {
  name                       = "to-log-analytics"
  target_resource_id         = azurerm_stream_analytics_job.scenarios.id
  log_analytics_workspace_id = var.log_analytics_workspace_id
  enabled_log {
    category_group = "allLogs"
  }
  enabled_metric {
    category = "AllMetrics"
  }
}
