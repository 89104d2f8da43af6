"""Provisioning: each Azure solution's Terraform root planned and applied by Dagster ops (jobs.py),
with the `terraform` the machine has (terraform.py), its outputs becoming the solution's settings
(settings.py)."""
