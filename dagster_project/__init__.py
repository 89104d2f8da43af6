"""The playground's Dagster code: one asset graph, resources chosen per target."""
