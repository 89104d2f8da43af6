from dagster_project.definitions import build_definitions

defs = build_definitions("synapse")
