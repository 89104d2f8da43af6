"""What runs on a Spark cluster (the Databricks solution's job clusters), not in Dagster: the bronze job
(bronze.py, submitted through Pipes), the streaming job (streaming.py, deployed by Terraform) and the
launcher that runs either from this repository's wheel (launcher.py). Light: each imports only what a
cluster has, and nothing that builds Dagster definitions."""
