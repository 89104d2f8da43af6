"""A lake file's lines, numbered and decoded: the rules both bronze tiers (DuckDB here, the Spark job on
Databricks) apply to a line, in one place.

A line is split off at \n (a \r before it dropped); a blank line is no record; a line past MAX_LINE_BYTES
is quarantined by its length, unparsed; any other line is decoded by bronze/decode.py, and a rejected
one keeps its text (or its bytes, escaped) for the quarantine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.bronze.decode import decode_sql
from dagster_project.bronze.sources import FileSource

# A line longer than this is no record of ours (they are a few KB): it is quarantined by its length, unparsed,
# and only its first PREVIEW_BYTES are kept in memory and in the quarantine.
MAX_LINE_BYTES = 1 << 20
PREVIEW_BYTES = 1 << 10


@dataclass(frozen=True)
class Piece:
    """Whole lines of one file version, numbered first_line to last_line; data ends with \n."""
    path: str
    version: int
    first_line: int
    last_line: int
    data: bytes
    skip_through: int = 0  # lines up to this one were taken by an earlier run
    cut_length: int | None = None  # the piece is one line longer than MAX_LINE_BYTES: its length; data, its start


def file_pieces(path: str, version: int, chunks: Iterable[bytes]) -> Iterator[Piece]:
    """A file read in chunks, as pieces of whole lines: a line split between chunks is whole, unless it grows
    past MAX_LINE_BYTES: then only its start is kept, and its length counted, so memory stays bounded."""
    carry, line, long_line = b"", 1, 0  # long_line: bytes so far of a line past the maximum
    for chunk in chunks:
        if long_line:
            end = chunk.find(b"\n")
            if end < 0:
                long_line += len(chunk)
                continue
            yield Piece(path, version, line, line, carry + b"\n", cut_length=long_line + end)
            carry, line, long_line, chunk = b"", line + 1, 0, chunk[end + 1:]
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        if cut:
            lines = data.count(b"\n", 0, cut)
            yield Piece(path, version, line, line + lines - 1, data[:cut])
            line += lines
        if len(carry) > MAX_LINE_BYTES:
            carry, long_line = carry[:PREVIEW_BYTES], len(carry)
    if long_line:
        yield Piece(path, version, line, line, carry + b"\n", cut_length=long_line)
    elif carry:  # a last line without its \n
        yield Piece(path, version, line, line, carry + b"\n")


def numbered_lines(pieces: list[Piece]) -> pa.Table:
    """`path`, `version`, `line`, `body` (without its \n or \r\n) and `oversize` (the length of a line longer
    than MAX_LINE_BYTES, whose body is cut to PREVIEW_BYTES; else NULL) of every line of the pieces, split at
    once with numpy: the cost per file is a few array entries, not a Python loop."""
    raw = np.frombuffer(b"".join(p.data for p in pieces), np.uint8)
    ends = np.flatnonzero(raw == 10)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    stops = ends.copy()
    crlf = (stops > starts) & (raw[np.maximum(stops - 1, 0)] == 13)
    stops[crlf] -= 1
    kept = np.ones(len(raw), dtype=bool)
    kept[ends] = False
    kept[stops[crlf]] = False
    lengths = stops - starts
    piece_starts = np.cumsum([0] + [len(p.data) for p in pieces[:-1]])
    for start, piece in zip(piece_starts, pieces, strict=True):
        if piece.cut_length is not None:  # a piece of one line, already cut
            lengths[np.searchsorted(starts, start)] = piece.cut_length
    for index in np.flatnonzero(lengths > MAX_LINE_BYTES):  # rare: a loop is fine
        kept[starts[index] + PREVIEW_BYTES: ends[index]] = False
        kept[ends[index]] = False
        stops[index] = min(stops[index], starts[index] + PREVIEW_BYTES)
    oversize = pa.array(np.where(lengths > MAX_LINE_BYTES, lengths, 0), pa.int64(),
                        mask=lengths <= MAX_LINE_BYTES)
    offsets = np.concatenate(([0], np.cumsum(stops - starts)))
    body = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(starts),
                                            [None, pa.py_buffer(offsets), pa.py_buffer(raw[kept].tobytes())])
    owner = np.searchsorted(piece_starts, starts, side="right") - 1  # the piece each line is in
    first_index = np.searchsorted(starts, piece_starts)  # each piece's first line, counted over all pieces
    line = np.array([p.first_line for p in pieces])[owner] + np.arange(len(starts)) - first_index[owner]
    paths = pa.DictionaryArray.from_arrays(owner.astype(np.int32), pa.array([p.path for p in pieces], pa.string()))
    table = pa.table({"path": paths, "version": np.array([p.version for p in pieces], np.int32)[owner],
                      "line": line.astype(np.int64), "body": body, "oversize": oversize})
    taken = line <= np.array([p.skip_through for p in pieces])[owner]
    return table.filter(~taken) if taken.any() else table


def decoded_lines_sql(lines: str, source: FileSource) -> str:
    """A SELECT of `lines` (numbered_lines' columns) as the source's fields, `path`, `version`, `line`,
    `reason` (NULL for a row) and `raw` (a rejected line's text, or its bytes escaped); blank lines left out."""
    return f"""
        SELECT * EXCLUDE (reason, raw_text, body, oversize),
               CASE WHEN oversize IS NULL THEN reason ELSE format(
                   'a line of {{:,}} bytes, over the {MAX_LINE_BYTES:,}-byte maximum (not parsed; its start kept)',
                   oversize) END AS reason,
               CASE WHEN reason IS NOT NULL OR oversize IS NOT NULL THEN coalesce(raw_text, body::VARCHAR) END AS raw
        FROM ({decode_sql(lines, {source.name: source.types}, (source.key,))})
        WHERE (reason IS NULL AND oversize IS NULL) OR trim(coalesce(raw_text, 'x')) <> ''
    """
