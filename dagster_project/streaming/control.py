"""Starting and stopping the Databricks solution's continuous streaming job from Dagster (the job
itself is deployed by Terraform: terraform/modules/databricks), through the Databricks SDK.
"""

from dagster import JobDefinition

from dagster_project.solutions import Solution
from dagster_project.spark_jobs import DatabricksSparkJobs
from dagster_project.switches import switch_jobs


def _switch(spark_jobs: DatabricksSparkJobs, running: bool) -> dict:
    spark_jobs.set_streaming(running)
    return spark_jobs.streaming_state()


def streaming_switches(solution: Solution) -> list[JobDefinition]:
    """`<prefix>_start_streaming` and `<prefix>_stop_streaming`, for a streaming engine that is a Databricks job."""
    return switch_jobs(
        solution.job_name, "spark_jobs", "streaming", ("stop", "start"), "databricks",
        lambda verb: f"{solution.title}: {verb} the continuous streaming job (unpause or pause it); its runs write "
                     "the streaming outputs, which the observe_streaming job sees.",
        _switch)
