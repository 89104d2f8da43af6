"""What a cloud streaming engine has written: Stream Analytics (and the Databricks streaming job)
append Parquet parts under <lake>/<tier>/streaming/<output>/, in the date and hour folders of the
job's path pattern ({date}/{time}). An observation counts the parts, their bytes and the last write,
and reads the row counts of only the parts written since the previous observation (a part's footer
is one small read, but a day of minutely parts is thousands)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from playground.io.lake import Lake


@dataclass(frozen=True)
class Seen:
    """An observation's state: what the next one builds on."""

    parts: int = 0
    rows: int = 0
    last_write: float = 0.0                           # the newest part's modification time (epoch s)
    at_last_write: tuple[str, ...] = ()               # the parts written at that very time, already counted


@dataclass(frozen=True)
class Written:
    parts: int
    new_parts: int
    rows: int
    new_rows: int
    bytes: int
    last_write: float
    at_last_write: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        """Changes whenever a part is added: the data version Dagster shows."""
        return f"{self.parts}:{self.bytes}:{self.last_write}"

    @property
    def seen(self) -> Seen:
        return Seen(self.parts, self.rows, self.last_write, self.at_last_write)


def _modified(info: dict) -> float:
    stamp = info.get("last_modified") or info.get("mtime") or info.get("created") or 0
    if isinstance(stamp, datetime):
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
    return float(stamp)


def _rows(lake: Lake, path: str) -> int:
    import pyarrow.parquet as pq

    with lake.fs.open(path, "rb") as handle:
        return pq.ParquetFile(handle).metadata.num_rows


def observe(lake: Lake, folder: str, before: Seen = Seen()) -> Written:
    """The Parquet parts under `folder` (recursively; hidden and `_` names skipped, as Spark does),
    with rows read from the parts newer than `before`."""
    root = lake.path(folder)
    found = lake.fs.find(root, detail=True) if lake.fs.exists(root) else {}
    parts = {path: info for path, info in found.items()
             if path.endswith(".parquet") and not path.rsplit("/", 1)[-1].startswith((".", "_"))}
    modified = {path: _modified(info) for path, info in parts.items()}
    new = sorted(path for path, at in modified.items()
                 if at > before.last_write or (at == before.last_write and path not in before.at_last_write))
    if len(parts) - len(new) < before.parts:  # parts were removed (retention): count every row again
        before, new = Seen(), sorted(parts)
    new_rows = sum(_rows(lake, path) for path in new)
    last_write = max(modified.values(), default=before.last_write)
    return Written(parts=len(parts), new_parts=len(new), rows=before.rows + new_rows, new_rows=new_rows,
                   bytes=sum(int(info.get("size") or 0) for info in parts.values()), last_write=last_write,
                   at_last_write=tuple(sorted(p for p, at in modified.items() if at == last_write)))
