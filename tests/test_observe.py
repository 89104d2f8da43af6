"""The cloud solutions' streaming outputs, observed where Stream Analytics (or the Databricks job)
writes them: Parquet parts in date/hour folders under <lake>/<tier>/streaming/<output>/."""

from __future__ import annotations

import io
import os
import time
from contextlib import suppress
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import AssetKey, DagsterInstance
from playground.io.lake import Lake

from dagster_project.resources import LakeResource
from dagster_project.streaming.observe import Seen, observe


def part(rows: int) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"event_id": [f"e{i}" for i in range(rows)]}), buffer)
    return buffer.getvalue()


def test_an_observation_counts_parts_rows_and_reads_only_new_parts(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    folder = "silver/streaming/raw_vip_only"
    assert observe(lake, folder) == observe(lake, folder)  # nothing there yet: zeros, no error
    assert observe(lake, folder).parts == 0
    lake.write_bytes(f"{folder}/2026/12/02/18/0_a_1.parquet", part(3))
    lake.write_bytes(f"{folder}/2026/12/02/19/0_b_1.parquet", part(2))
    lake.write_bytes(f"{folder}/2026/12/02/19/_SUCCESS.parquet", part(50))  # bookkeeping, as Spark names it
    first = observe(lake, folder)
    assert (first.parts, first.new_parts, first.rows, first.new_rows) == (2, 2, 5, 5)

    same = observe(lake, folder, first.seen)
    assert (same.new_parts, same.rows, same.version) == (0, 5, first.version)

    # A part written in the same second as the last one seen is still new; a part seen is never read again.
    newest = max(first.at_last_write)
    stamp = os.stat(newest).st_mtime
    lake.write_bytes(f"{folder}/2026/12/02/19/0_c_1.parquet", part(4))
    os.utime(tmp_path / folder / "2026/12/02/19/0_c_1.parquet", (stamp, stamp))
    os.utime(newest, (stamp, stamp))
    third = observe(lake, folder, first.seen)
    assert (third.parts, third.new_parts, third.rows) == (3, 1, 9)
    assert third.version != first.version

    # Parts removed (retention): every row is counted again.
    os.remove(tmp_path / folder / "2026/12/02/18/0_a_1.parquet")
    after = observe(lake, folder, third.seen)
    assert (after.parts, after.rows) == (2, 6)

    unchanged = observe(lake, folder, Seen(parts=2, rows=6, last_write=after.last_write,
                                           at_last_write=after.at_last_write))
    assert unchanged.new_rows == 0 and unchanged.rows == 6


@pytest.mark.e2e
def test_the_microsoft_location_observes_stream_analytics_parts_in_blob_storage(
        azurite: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    from dagster_project.assembly import build_definitions

    service = BlobServiceClient.from_connection_string(azurite)
    for container in ("bronze", "silver"):
        with suppress(ResourceExistsError):
            service.create_container(container)
    silver = service.get_container_client("silver")
    silver.upload_blob("streaming/raw_vip_only/2026/12/02/18/0_1f2e_1.parquet", part(3), overwrite=True)
    silver.upload_blob("streaming/alert_high_latency/2026/12/02/18/0_9a7c_1.parquet", part(7), overwrite=True)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite)

    defs = build_definitions("microsoft")
    job = defs.resolve_job_def("microsoft_observe_streaming")
    resources = {"lake": LakeResource(root="abfs://")}
    instance = DagsterInstance.ephemeral()

    def observed(name: str) -> dict:
        [record] = instance.fetch_observations(AssetKey(["microsoft", "streaming", name]), limit=1).records
        observation = record.asset_observation
        return {k: v.value for k, v in observation.metadata.items()} | {"version": observation.data_version}

    assert job.execute_in_process(resources=resources, instance=instance).success
    vip = observed("raw_vip_only")
    assert (vip["parts"], vip["rows_total"], vip["rows_new"]) == (1, 3, 3)
    assert observed("alert_high_latency")["rows_total"] == 7
    assert observed("raw_pageviews")["parts"] == 0  # nothing written there yet

    time.sleep(1.1)  # the next part has a later last-modified time (Blob storage stamps whole seconds)
    silver.upload_blob("streaming/raw_vip_only/2026/12/02/19/0_77aa_1.parquet", part(2), overwrite=True)
    assert job.execute_in_process(resources=resources, instance=instance).success
    again = observed("raw_vip_only")
    assert (again["parts"], again["parts_new"], again["rows_total"], again["rows_new"]) == (2, 1, 5, 2)
    assert again["version"] != vip["version"]

    assert job.execute_in_process(resources=resources, instance=instance).success
    assert observed("raw_vip_only")["version"] == again["version"]
    assert observed("raw_vip_only")["rows_new"] == 0
