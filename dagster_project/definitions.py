"""The playground's Dagster definitions, assembled in one place for a solution (targets.py)."""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from dagster_project.bronze.assets import bronze_assets_for
from dagster_project.landing.assets import landing_assets_for
from dagster_project.provisioning.jobs import provisioning_for
from dagster_project.provisioning.settings import checked, load_settings
from dagster_project.sensors import jobs_for, schedules_for, sensors_for
from dagster_project.streaming.assets import streaming_assets_for, streaming_consumer_for
from dagster_project.streaming.control import streaming_control_for
from dagster_project.synapse_pool import sql_pool_jobs_for
from dagster_project.targets import current_target, resources_for, solution_for
from dagster_project.transform.assets import dbt_models_for


def build_definitions(target: str) -> Definitions:
    solution = solution_for(target)
    if solution.terraform_root:
        load_settings(solution.location)  # what its provisioning job wrote, before anything reads the environment
    resources = resources_for(target)
    jobs, sensors = [*jobs_for(solution), *streaming_consumer_for(solution)], sensors_for(solution)
    schedules = schedules_for(solution, jobs)
    if solution.terraform_root:
        resources = checked(resources, solution.location)  # a run missing a setting fails at once, naming them all
        provision, destroy, terraform_changed = provisioning_for(solution)
        jobs += [provision, destroy, *streaming_control_for(solution)]
        if "sql_pool" in resources:
            jobs += sql_pool_jobs_for(solution)
        sensors.append(terraform_changed)
    # In one process: DuckDB takes one writer process per file, and bronze assets share the file.
    return Definitions(
        assets=[*landing_assets_for(solution), *bronze_assets_for(solution), dbt_models_for(solution),
                *streaming_assets_for(solution)],
        jobs=jobs, resources=resources, executor=in_process_executor,
        sensors=sensors, schedules=schedules)


defs = build_definitions(current_target())
