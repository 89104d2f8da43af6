terraform {
  required_version = ">= 1.9"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.55.0"
    }
    azuread = {
      source  = "hashicorp/azuread"
      version = "~> 3.7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7.2"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.13.1"
    }
  }
  # State is local unless you pass a backend (README: Deploy to Azure); nothing about your
  # subscription is written here.
}

provider "azurerm" {
  features {}
  subscription_id = var.subscription_id # null: ARM_SUBSCRIPTION_ID or the Azure CLI's
}

provider "azuread" {}
