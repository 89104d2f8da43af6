# An ADLS gen2 storage account (or plain blob storage), hardened once for every account the solutions make (the lake, the
# Synapse workspace's own): TLS 1.2 over HTTPS only, no public blobs, no local users, infrastructure
# encryption, soft delete, SAS tokens that expire within a day, and a firewall that denies all but
# the given addresses, subnets and resources.

resource "azurerm_storage_account" "this" {
  #checkov:skip=CKV_AZURE_33: queue service unused (data lake accounts); its logging would log nothing
  #checkov:skip=CKV_AZURE_206: LRS is enough for data regenerated from a seed and a workspace's own files; GRS doubles the cost
  #checkov:skip=CKV2_AZURE_1: Microsoft-managed keys: customer-managed keys need a key rotation process a playground does not have
  #checkov:skip=CKV2_AZURE_33: reached through its firewall, not a private endpoint: a playground has no private network for the machine running Terraform
  #checkov:skip=CKV2_AZURE_40: the shared key stays: Dagster's lake resource and Stream Analytics' outputs sign with it on the lake (README: Deploy to Azure), Synapse Studio on its workspace's account
  #checkov:skip=CKV2_AZURE_41: no SAS tokens are issued (the original's 2018-2200 token is gone); nothing to expire
  #checkov:skip=CKV_AZURE_59: public endpoint kept, restricted by network rules to the given addresses, subnets and resources
  name                              = var.name
  resource_group_name               = var.resource_group_name
  location                          = var.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = "LRS"
  is_hns_enabled                    = var.hierarchical_namespace
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  local_user_enabled                = false
  infrastructure_encryption_enabled = true
  tags                              = var.tags

  blob_properties {
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices", "Logging", "Metrics"]
    ip_rules                   = [for range in var.allowed_ip_ranges : trimsuffix(range, "/32")]
    virtual_network_subnet_ids = var.subnet_ids
    dynamic "private_link_access" {
      for_each = var.trusted_resource_ids
      content {
        endpoint_resource_id = private_link_access.value
      }
    }
  }

  sas_policy {
    expiration_period = "01.00:00:00"
  }
}
