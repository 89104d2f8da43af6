"""The Databricks solution as a code location of its own: keys under databricks/, its own engines."""
from dagster_project.assembly import build_definitions

defs = build_definitions("databricks")
