"""Jobs that switch on and off what a cloud solution bills for while it runs (the Databricks streaming
job, the Synapse dedicated SQL pool): one op that calls its resource and records the state it reports.

(No `from __future__ import annotations`: Dagster reads the op's context annotation.)
"""

from collections.abc import Callable
from typing import Any

from dagster import JobDefinition, OpExecutionContext, Output, job, op


def switch_jobs(name: Callable[[str], str], resource: str, noun: str, verbs: tuple[str, str], kind: str,
                describe: Callable[[str], str], switch: Callable[[Any, bool], dict]) -> list[JobDefinition]:
    """The jobs `name(<verb>_<noun>)` for verbs (off, on); each runs `switch(<resource>, on)` and records
    the state it returns as the op's output and metadata."""

    def one(on: bool) -> JobDefinition:
        verb = verbs[on]

        @op(name=name(f"{verb}_{noun}_job"), required_resource_keys={resource})
        def set_state(context: OpExecutionContext):
            state = switch(getattr(context.resources, resource), on)
            context.log.info(f"{noun}: {state}")
            return Output(state, metadata={k: v for k, v in state.items() if v is not None})

        @job(name=name(f"{verb}_{noun}"), tags={"kind": kind}, description=describe(verb))
        def switch_job():
            set_state()

        return switch_job

    return [one(False), one(True)]
