"""One code location per solution, so lineage shows both side by side in one Dagster UI."""
