# The generators, from the playground's one image: users (with VIP users), products and orders are
# generated once, in order (init containers), then products and orders trickle and events stream.

locals {
  lake = "abfs://" # containers of the account: landing, bronze, silver, gold
  # Run once, in this order: orders draw their user and product ids from what is in the lake.
  # (A list: init containers run in its order; a map would run them by name.) ACI runs them again at
  # every restart of the group: --keep-existing keeps what an earlier start generated (never resets the
  # orders database, whose ids bronze's watermark has passed).
  seed_commands = [
    { name = "users", command = ["playground", "generate", "users", "--count", "${var.users}", "--vip-count", "${var.vip_users}", "--seed", "${var.seed}", "--keep-existing", "--quiet"] },
    { name = "products", command = ["playground", "generate", "products", "--count", "${var.products}", "--seed", "${var.seed}", "--keep-existing", "--quiet"] },
    { name = "orders", command = ["playground", "generate", "orders", "--count", "${var.orders}", "--seed", "${var.seed}", "--keep-existing", "--quiet"] },
  ]
  # Run always (restarted if they stop).
  live_commands = {
    trickle = ["playground", "trickle", "--products-per-s", "${var.products_per_second}", "--orders-per-s", "${var.orders_per_second}", "--seed", "${var.seed}"]
    stream  = ["playground", "stream", "--rate", "${var.events_per_second}", "--bus", "eventhubs"]
  }
  # A group in a subnet has a private IP address, and ACI refuses an address without ports
  # (MissingIpAddressPorts); the provider sends the containers' ports as the address's. Nothing listens
  # on it: the generators only send, and the subnet's security group denies inbound from the Internet.
  declared_port = 8080
  environment = {
    PLAYGROUND_LAKE            = local.lake
    AZURE_STORAGE_ACCOUNT_NAME = var.storage_account_name
    AZURE_CLIENT_ID            = azurerm_user_assigned_identity.generators.client_id # the lake by managed identity
    PLAYGROUND_BUS             = "eventhubs"
  }
  secure_environment = {
    PLAYGROUND_ORDERS_URL       = var.orders_url
    EVENTHUBS_CONNECTION_STRING = var.eventhubs_send_connection_string
  }
}

resource "azurerm_user_assigned_identity" "generators" {
  name                = "${var.name}-generators"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_role_assignment" "generators_write_lake" {
  scope                = var.storage_account_id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.generators.principal_id
}

# The init containers write the lake at once: the grant must have reached the storage account.
resource "time_sleep" "generators_grant_propagated" {
  create_duration = var.rbac_propagation
  depends_on      = [azurerm_role_assignment.generators_write_lake]
}

resource "azurerm_container_group" "generators" {
  #checkov:skip=CKV_AZURE_235: the plain variables are names (lake URL, account, identity client id, bus); the orders URL and Event Hubs connection string are secure_environment_variables
  name                = "${var.name}-generators"
  resource_group_name = var.resource_group_name
  location            = var.location
  os_type             = "Linux"
  restart_policy      = "Always"
  ip_address_type     = "Private" # no public address: it only sends
  subnet_ids          = [var.subnet_id]
  tags                = var.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.generators.id]
  }

  dynamic "image_registry_credential" {
    for_each = var.image_registry == null ? [] : [var.image_registry]
    content {
      server   = image_registry_credential.value.server
      username = image_registry_credential.value.username
      password = image_registry_credential.value.password
    }
  }

  dynamic "init_container" {
    for_each = local.seed_commands
    content {
      name                         = init_container.value.name
      image                        = var.image
      commands                     = init_container.value.command
      environment_variables        = local.environment
      secure_environment_variables = local.secure_environment
    }
  }

  dynamic "container" {
    for_each = local.live_commands
    content {
      name                         = container.key
      image                        = var.image
      cpu                          = 1
      memory                       = 2
      commands                     = container.value
      environment_variables        = local.environment
      secure_environment_variables = local.secure_environment
      dynamic "ports" {
        for_each = container.key == "stream" ? [local.declared_port] : []
        content {
          port     = ports.value
          protocol = "TCP"
        }
      }
    }
  }

  depends_on = [time_sleep.generators_grant_propagated]
}
