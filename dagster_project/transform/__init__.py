"""Silver and gold: dbt's models as Dagster assets (assets.py), and dbt as Dagster calls it: the project,
its manifest, the CLI from dbt's own environment and the settings each invocation sees (dbt_cli.py)."""
