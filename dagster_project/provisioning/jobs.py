"""Each Azure solution's provisioning, as Dagster sees it: a job of Terraform ops (init -> plan ->
apply -> output), a destroy job that needs a typed confirmation, and a sensor that requests the
provisioning job when the root, its modules or its variables change. Plan-only unless the user opts
in to apply (the apply step's config, or PLAYGROUND_TERRAFORM_APPLY=1 for the sensor's runs).
(No `from __future__ import annotations`: Dagster reads the ops' context annotations.)"""

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from dagster import (
    Config,
    DefaultSensorStatus,
    Failure,
    In,
    JobDefinition,
    MetadataValue,
    Nothing,
    OpExecutionContext,
    RunConfig,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    job,
    op,
    sensor,
)
from playground.errors import PlaygroundError
from pydantic import Field

from dagster_project.provisioning.settings import TERRAFORM_DIR, write_settings
from dagster_project.provisioning.terraform import PlanSummary, TerraformResource, fingerprint
from dagster_project.solutions import Solution

APPLY_SETTING = "PLAYGROUND_TERRAFORM_APPLY"
T = TypeVar("T")


class ApplyConfig(Config):
    apply: bool = Field(default=False, description="Apply the saved plan (default: plan only).")
    confirm: str = Field(default="", description="The Terraform root's name, typed to apply a plan that deletes or "
                                                 "replaces resources (one that only creates or updates in place "
                                                 "needs none).")


class DestroyConfig(Config):
    confirm: str = Field(default="", description="The Terraform root's name, typed to confirm the destroy.")


def failing_plainly(body: Callable[..., T]) -> Callable[..., T]:
    """An expected failure (Terraform's error, a confirmation missing) as Dagster's Failure: its message in
    the UI, without a Python stack around it."""

    @functools.wraps(body)
    def step(*args: Any, **kwargs: Any) -> T:
        try:
            return body(*args, **kwargs)
        except PlaygroundError as error:
            raise Failure(description=str(error), allow_retries=False) from None

    return step


def _plan_metadata(summary: PlanSummary, text: str) -> dict[str, object]:
    return {"to add": summary.add, "to change": summary.change, "to destroy": summary.destroy,
            "deleted or replaced": MetadataValue.json(list(summary.removed)),
            # Terraform prints sensitive values as (sensitive value) in a plan.
            "plan": MetadataValue.md(f"```\n{text[-20000:]}\n```")}


@op(description="terraform init: providers and modules of the root.")
@failing_plainly
def terraform_init(context: OpExecutionContext, terraform: TerraformResource) -> None:
    terraform.init()
    context.log.info(f"initialized {terraform.root}")


@op(ins={"initialized": In(Nothing)}, description="terraform plan, saved to a file that apply uses as is.")
@failing_plainly
def terraform_plan(context: OpExecutionContext, terraform: TerraformResource) -> PlanSummary:
    summary, text = terraform.plan()
    context.add_output_metadata(_plan_metadata(summary, text))
    context.log.info(f"plan: {summary.add} to add, {summary.change} to change, {summary.destroy} to destroy")
    return summary


@op(description="terraform apply of the saved plan, when the run opted in (config apply: true); a plan that "
                "deletes or replaces anything also needs the root's name typed (config confirm).")
@failing_plainly
def terraform_apply(context: OpExecutionContext, config: ApplyConfig, terraform: TerraformResource,
                    plan: PlanSummary) -> bool:
    name = Path(terraform.root).name
    if not config.apply or not plan.changes:
        terraform.discard_plan()
        context.log.info("no changes to apply" if config.apply else
                         f"plan only: launch with `apply: true` in this step's config (or set {APPLY_SETTING}=1 for "
                         "the sensor's runs) to apply it")
        return False
    if plan.removed and config.confirm != name:
        terraform.discard_plan()
        shown = ", ".join(plan.removed[:10]) + (", ..." if len(plan.removed) > 10 else "")
        raise PlaygroundError(f"nothing applied: the plan deletes or replaces {len(plan.removed)} resources of {name} "
                              f"({shown}); review the plan step's output, then launch this job with "
                              f"`apply: true` and `confirm: {name}` in terraform_apply's config")
    terraform.apply()
    context.add_output_metadata({"added": plan.add, "changed": plan.change, "destroyed": plan.destroy})
    return True


@op(description="terraform output: written to the solution's settings file, sensitive values never shown.")
@failing_plainly
def terraform_output(context: OpExecutionContext, terraform: TerraformResource, applied: bool) -> None:
    outputs = terraform.outputs()
    if not outputs:
        context.log.info("no outputs yet: nothing has been applied")
        return
    write_settings(Path(terraform.settings_file), outputs)
    shown = {name.upper(): "(sensitive)" if output.get("sensitive") else str(output["value"])
             for name, output in sorted(outputs.items())}
    context.add_output_metadata({"settings file": MetadataValue.path(terraform.settings_file),
                                 "settings": MetadataValue.json(shown), "applied in this run": applied})


@op(ins={"initialized": In(Nothing)}, description="terraform plan -destroy, then apply it: needs confirm.")
@failing_plainly
def terraform_destroy(context: OpExecutionContext, config: DestroyConfig, terraform: TerraformResource) -> None:
    name = Path(terraform.root).name
    if config.confirm != name:
        raise PlaygroundError(f"destroy not confirmed: set this step's config `confirm: {name}` to destroy "
                              f"everything {name} deployed")
    summary, text = terraform.plan(destroy=True)
    context.log.info(f"destroying {summary.destroy} resources")
    terraform.apply()
    Path(terraform.settings_file).unlink(missing_ok=True)  # its endpoints are gone
    context.add_output_metadata(_plan_metadata(summary, text))


def provisioning_for(solution: Solution) -> tuple[JobDefinition, JobDefinition, SensorDefinition]:
    """The solution's provisioning and destroy jobs and its sensor, named with its prefix."""
    provision, destroy = provisioning_jobs(solution)
    return provision, destroy, terraform_sensor(solution, provision, TERRAFORM_DIR / solution.location)


def provisioning_jobs(solution: Solution) -> tuple[JobDefinition, JobDefinition]:
    # One run per root at a time (dagster_instance.yaml limits runs by this tag): a run applies the plan it saved.
    tags = {"kind": "terraform", "terraform/root": solution.location}

    @job(name=solution.job_name("provision"), tags=tags,
         description="Terraform init, plan and (when opted in) apply of the solution's root; outputs become "
                     "its settings.")
    def provision() -> None:
        terraform_output(terraform_apply(terraform_plan(terraform_init())))

    @job(name=solution.job_name("destroy"), tags=tags,
         description="Destroy everything the solution's root deployed (config confirm: <root name>).")
    def destroy() -> None:
        terraform_destroy(terraform_init())

    return provision, destroy


def terraform_sensor(solution: Solution, provision: JobDefinition, root: Path) -> SensorDefinition:
    @sensor(name=solution.job_name("terraform_changed"), job=provision, minimum_interval_seconds=30,
            default_status=DefaultSensorStatus.STOPPED,
            description=f"Requests a plan (and an apply with {APPLY_SETTING}=1) when {root.name}, the modules it "
                        "uses or its variables change.")
    def terraform_changed(context: SensorEvaluationContext) -> RunRequest | SkipReason:
        current = fingerprint(root)
        if current == context.cursor:
            return SkipReason(f"{root.name} unchanged")
        context.update_cursor(current)
        apply = os.environ.get(APPLY_SETTING) == "1"
        return RunRequest(run_config=RunConfig(ops={"terraform_apply": ApplyConfig(apply=apply)}),
                          tags={"terraform/apply": str(apply).lower()})

    return terraform_changed
