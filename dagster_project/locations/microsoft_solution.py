"""The Microsoft solution (Synapse, Stream Analytics) as a code location: keys under microsoft/."""
from dagster_project.assembly import build_definitions

defs = build_definitions("microsoft")
