"""The playground's code location: the local playground, or the solution PLAYGROUND_TARGET names."""

from dagster_project.assembly import build_definitions, current_solution

defs = build_definitions(current_solution())
