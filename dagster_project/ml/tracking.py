"""Where the order value model is trained and tracked: the ML environment's interpreter and an MLflow
tracking server or store, one resource a solution configures (solution_resources.py). Training and
scoring run as order_value.py through Pipes; what they report comes back as one message."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, ConfigurableResource, Failure, PipesSubprocessClient
from pydantic import Field

SCRIPT = Path(__file__).resolve().parents[1] / "on_ml" / "order_value.py"
ML_ENVIRONMENT = Path(__file__).resolve().parents[2] / "ml" / ".venv" / "bin" / "python"


class ModelTracking(ConfigurableResource):
    """MLflow's tracking and registry URIs, where artifacts go, and the interpreter training runs in."""

    tracking_uri: str = Field(description="MLflow tracking URI: a database (sqlite:///…) or a server (http://…).")
    registry_uri: str = Field(default="", description="Model registry URI, when not the tracking URI's.")
    artifact_location: str = Field(default="", description="Where a new experiment keeps its artifacts.")
    experiment: str = Field(default="order_value", description="The MLflow experiment of the training runs.")
    model_name: str = Field(default="order_value", description="The registered model.")
    python: str = Field(default=str(ML_ENVIRONMENT), description="The ML environment's interpreter.")

    def run(self, context: AssetExecutionContext, command: str, extras: dict[str, Any]) -> dict[str, Any]:
        """order_value.py's `command` with these extras; its report, or one Failure naming what went wrong."""
        if not os.path.exists(self.python):
            raise Failure(f"the ML environment is missing ({self.python}): run `make setup`, which installs it "
                          "from ml/uv.lock")
        if self.tracking_uri.startswith("sqlite:///"):  # MLflow makes the database, not its folder
            Path(self.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        settings = {"tracking_uri": self.tracking_uri, "registry_uri": self.registry_uri,
                    "artifact_location": self.artifact_location, "experiment": self.experiment,
                    "model_name": self.model_name}
        # No telemetry: MLflow would try to send it (and nothing here reaches the internet).
        quiet = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "MLFLOW_LOGGING_LEVEL": "ERROR"}
        completed = PipesSubprocessClient(env=quiet).run(command=[self.python, str(SCRIPT), command], context=context,
                                                extras={**settings, **extras})
        messages = completed.get_custom_messages()
        if not messages:
            raise Failure(f"order_value.py {command} reported nothing (see the step's stderr)")
        report = messages[-1]
        if "error" in report:
            raise Failure(report["error"], allow_retries=False)
        return report


def local_tracking(folder: str) -> ModelTracking:
    """MLflow's tracking store as a SQLite database in `folder`, artifacts beside it."""
    root = Path(folder).resolve()
    return ModelTracking(tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
                         artifact_location=(root / "artifacts").as_uri())
