"""A solution's Dagster definitions, assembled: the one place that reads a solution's fields
(solutions.py) to choose each tier's variant, its resources (solution_resources.py), and what a
location with Azure behind it adds (provisioning, switches for what bills by the hour). Each location
module calls build_definitions for its own solution only."""

from __future__ import annotations

import os

from dagster import DefaultScheduleStatus, DefaultSensorStatus, Definitions, in_process_executor
from playground.errors import PlaygroundError

from dagster_project import history, sensors
from dagster_project.bronze.assets import duckdb_bronze, event_bronze, spark_bronze
from dagster_project.landing.assets import generated_landing, landing_specs
from dagster_project.ml.assets import ml_assets
from dagster_project.pool_wait import wait_without_spinning
from dagster_project.solution_resources import resources_for
from dagster_project.solutions import SOLUTIONS, Solution
from dagster_project.streaming.assets import local_streaming, observed_streaming, streaming_consumer
from dagster_project.transform.assets import copies_from_duckdb, dbt_models_for, gold_from_warehouse


def current_solution() -> str:
    """PLAYGROUND_TARGET: the solution the playground location shows (default local)."""
    name = os.environ.get("PLAYGROUND_TARGET", "local")
    if name not in SOLUTIONS:
        raise PlaygroundError(f"PLAYGROUND_TARGET={name!r} is not one of {', '.join(SOLUTIONS)}")
    return name


def solution_for(name: str) -> Solution:
    if name not in SOLUTIONS:
        raise PlaygroundError(f"unknown solution {name!r}; choose one of {', '.join(SOLUTIONS)}")
    return SOLUTIONS[name]


def build_definitions(name: str) -> Definitions:
    wait_without_spinning()  # every process that loads a location runs its steps: no busy wait for a pool
    solution = solution_for(name)
    if solution.provisioned:
        from dagster_project.provisioning.settings import load_settings

        load_settings(solution.location)  # what its provisioning job wrote, before anything reads the environment
    resources = resources_for(name)
    # A cloud location's sensors and schedules start stopped, until its settings are in the environment.
    on = not solution.provisioned
    sensor_status = DefaultSensorStatus.RUNNING if on else DefaultSensorStatus.STOPPED
    schedule_status = DefaultScheduleStatus.RUNNING if on else DefaultScheduleStatus.STOPPED

    assets: list = []
    refresh = sensors.refresh_job(solution)
    jobs: list = [refresh]
    schedules = []
    sensor_list = [sensors.bronze_sensor(solution, sensor_status), sensors.refresh_automation(solution, sensor_status)]
    refresh_when = sensors.refresh_condition(sensors.refresh_cron())

    if solution.landing == "generates":
        assets += generated_landing(solution)
        jobs.insert(0, sensors.landing_job(solution))
    else:  # containers generate; their manifests are reported
        assets += landing_specs(solution)
        sensor_list.append(sensors.landing_reports(solution))

    assets += spark_bronze(solution) if solution.bronze == "spark" else duckdb_bronze(solution)
    assets += event_bronze(solution)

    if solution.warehouse == "duckdb":  # one writer to DuckDB's file: dbt joins bronze's pool
        models = dbt_models_for(solution, copies_from_duckdb, pool=solution.pool("warehouse"),
                                dashboard=solution.dashboard)
    else:
        models = dbt_models_for(solution, gold_from_warehouse, table_names=True, dashboard=solution.dashboard)
    # Trained and scored where its model_tracking resource says, through Pipes.
    # Both refreshed by declarative automation when what they read changed (sensors.refresh_condition).
    assets += [sensors.refreshed(a, refresh_when) for a in (models, *ml_assets(solution, dashboard=solution.dashboard))]

    if solution.streaming == "duckdb":  # computed here: a micro-batch asset, and the consumer kept running
        assets.append(local_streaming(solution, dashboard=solution.dashboard))
        jobs.append(streaming_consumer(solution))
        sensor_list.append(sensors.consumer_keeper(solution))
    else:  # computed in Azure, observed in the lake
        assets.append(observed_streaming(solution, engine_is_a_job=solution.streaming == "databricks_job"))
        observe = sensors.observe_streaming_job(solution)
        jobs.append(observe)
        schedules.append(sensors.observe_schedule(solution, observe, schedule_status))
    if solution.streaming == "databricks_job":
        from dagster_project.streaming.control import streaming_switches

        jobs += streaming_switches(solution)
    if solution.warehouse == "synapse":  # its dedicated SQL pool bills by the hour while online
        from dagster_project.synapse_pool import sql_pool_jobs_for

        jobs += sql_pool_jobs_for(solution)

    if not solution.provisioned:  # one location prunes the instance's history, every location's runs
        prune = history.prune_job()
        jobs.append(prune)
        schedules.append(history.prune_schedule(prune, schedule_status))
    if solution.provisioned:
        from dagster_project.provisioning.jobs import provisioning_for
        from dagster_project.provisioning.settings import checked

        # A run missing a setting fails at once, naming all the location lacks (dbt's profile's too).
        resources = checked(resources, solution.location, {"dbt": solution.dbt_settings})
        provision, destroy, terraform_changed = provisioning_for(solution)
        jobs += [provision, destroy]
        sensor_list.append(terraform_changed)
    # In one process: DuckDB takes one writer process per file, and bronze assets share the file.
    return Definitions(assets=assets, jobs=jobs, resources=resources, executor=in_process_executor,
                       sensors=sensor_list, schedules=schedules)
