"""Starting and stopping the Databricks solution's continuous streaming job from Dagster (the job
itself is deployed by Terraform: terraform/modules/databricks), through the Databricks SDK.

(No `from __future__ import annotations`: Dagster reads the context annotation.)
"""

from dagster import JobDefinition, OpExecutionContext, Output, job, op

from dagster_project.targets import Solution


def streaming_control_for(solution: Solution) -> list[JobDefinition]:
    """`<prefix>_start_streaming` and `<prefix>_stop_streaming` where the streaming engine is a Databricks job."""
    if solution.target != "databricks":
        return []

    def control(running: bool) -> JobDefinition:
        verb = "start" if running else "stop"

        @op(name=solution.name(f"{verb}_streaming_job"), required_resource_keys={"spark_jobs"})
        def set_streaming(context: OpExecutionContext):
            spark_jobs = context.resources.spark_jobs
            spark_jobs.set_streaming(running)
            state = spark_jobs.streaming_state()
            context.log.info(f"streaming job {spark_jobs.streaming_job_id}: {state}")
            return Output(state, metadata={k: v for k, v in state.items() if v is not None})

        @job(name=solution.name(f"{verb}_streaming"), tags={"kind": "databricks"},
             description=f"{solution.title}: {verb} the continuous streaming job (unpause or pause it); its runs "
                         "write the streaming outputs, which the observe_streaming job sees.")
        def control_job():
            set_streaming()

        return control_job

    return [control(True), control(False)]
