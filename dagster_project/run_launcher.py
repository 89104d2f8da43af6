"""Dagster's default run launcher, plus what its run monitoring lacks: whether a run's process still lives.

Runs here are processes on this machine (launched by the UI, a sensor or schedule, or run in the
`dagster asset materialize` process itself). The default launcher cannot tell the monitoring daemon
that one was killed (kill -9, a closed terminal, an out-of-memory kill), so the run stays STARTED and
keeps the pool slot of the step it was in: every later run waiting for that DuckDB file's pool waits
forever. With this launcher (dagster_instance.yaml), the daemon marks such a run failed within a poll
and frees its slots (`free_slots_after_run_end_seconds`), and the queue moves on.
"""

from pathlib import Path
from typing import Any

from dagster import DagsterEventType, DagsterRun, DefaultRunLauncher

# A launcher's health check answers in these types, which Dagster does not export: the one private import,
# pinned by tests/test_supported_apis.py to the Dagster version it was written against.
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus

# A process started later than its run cannot be its worker: the run's pid was reused.
CLOCK_SLACK_S = 1.0
# In the instance's folder while `make up` stops (dagster_project/up.py): a run the daemon launches then
# is canceled instead of started, so nothing begins after the Ctrl-C.
STOPPING = ".stopping"


def process_alive(pid: int, started_by: float) -> bool:
    """Whether process `pid` runs and was started by time `started_by` (a pid reused later is not it)."""
    import psutil  # the daemon's process only

    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.create_time() <= started_by + CLOCK_SLACK_S
    except psutil.NoSuchProcess:
        return False


class LocalRunLauncher(DefaultRunLauncher):
    def launch_run(self, context: Any) -> None:
        home = self._instance.root_directory
        if home and (Path(home) / STOPPING).exists():
            self._instance.report_run_canceled(context.dagster_run, message="Not started: `make up` is stopping "
                                                                            "(Ctrl-C).")
            return
        super().launch_run(context)

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        started = self._instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_START, limit=1).records
        pid = started[0].event_log_entry.dagster_event.pid if started and started[0].event_log_entry.dagster_event \
            else None
        if pid is None:  # not started in a process yet
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        if process_alive(pid, started[0].timestamp):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(pid))
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run's process (pid {pid}) is gone: it was killed "
                                                         "or crashed before it could report the run's end")
