"""A lake file's lines, numbered and decoded: the rules both bronze tiers (DuckDB here, the Spark job on
Databricks) apply to a line, in one place.

A line is split off at \n (a \r before it dropped); a blank line is no record; a line past MAX_LINE_BYTES
is quarantined by its length, unparsed; any other line is decoded by bronze/decode.py, and a rejected
one keeps its text (or its bytes, escaped) for the quarantine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
from playground.catalog import Source

from dagster_project.bronze.decode import decode_sql

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


def split_piece(piece: Piece, lines: int) -> tuple[Piece, Piece]:
    """The piece's first `lines` lines, and the rest."""
    cut = int(np.flatnonzero(np.frombuffer(piece.data, np.uint8) == 10)[lines - 1]) + 1
    return (replace(piece, last_line=piece.first_line + lines - 1, data=piece.data[:cut]),
            replace(piece, first_line=piece.first_line + lines, data=piece.data[cut:]))


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


class Lines:
    """Where each line of some pieces starts and ends, found at once with numpy: the cost per file is a few
    array entries, not a Python loop."""

    def __init__(self, pieces: list[Piece]):
        self.pieces = pieces
        self.raw = np.frombuffer(b"".join(p.data for p in pieces), np.uint8)
        self.ends = np.flatnonzero(self.raw == 10)  # each line's \n
        self.starts = np.concatenate(([0], self.ends[:-1] + 1)).astype(np.int64)
        stops = self.ends.copy()  # each line's end without its \n or \r\n
        crlf = (stops > self.starts) & (self.raw[np.maximum(stops - 1, 0)] == 13)
        stops[crlf] -= 1
        self.lengths = stops - self.starts
        piece_starts = np.cumsum([0] + [len(p.data) for p in pieces[:-1]])
        for start, piece in zip(piece_starts, pieces, strict=True):
            if piece.cut_length is not None:  # a piece of one line, already cut
                self.lengths[np.searchsorted(self.starts, start)] = piece.cut_length
        self.stops = np.where(self.lengths > MAX_LINE_BYTES, np.minimum(stops, self.starts + PREVIEW_BYTES), stops)
        self.owner = np.searchsorted(piece_starts, self.starts, side="right") - 1  # the piece each line is in
        first_index = np.searchsorted(self.starts, piece_starts)  # each piece's first line, counted over all pieces
        self.line = (np.array([p.first_line for p in pieces])[self.owner] + np.arange(len(self.starts))
                     - first_index[self.owner]).astype(np.int64)
        self.untaken = self.line > np.array([p.skip_through for p in pieces])[self.owner]

    def _where(self, rows: np.ndarray) -> dict[str, pa.Array | np.ndarray]:
        paths = pa.array([p.path for p in self.pieces], pa.string())
        return {"path": pa.DictionaryArray.from_arrays(self.owner[rows].astype(np.int32), paths),
                "version": np.array([p.version for p in self.pieces], np.int32)[self.owner[rows]],
                "line": self.line[rows]}

    def texts(self) -> pa.Table | None:
        """`row`, `path`, `version`, `line` and `text` (the line with its \n) of the lines that may be records:
        not taken by an earlier run, not blank, not over MAX_LINE_BYTES. The text is the pieces' own bytes,
        not a copy, so it is there only when all of them are UTF-8 (else None: every line takes the slow path)."""
        offsets = np.append(self.starts, len(self.raw))
        text = pa.LargeStringArray.from_buffers(len(self.starts), pa.py_buffer(offsets), pa.py_buffer(self.raw))
        try:
            text.validate(full=True)
        except pa.ArrowInvalid:
            return None
        rows = np.arange(len(self.starts))
        table = pa.table({"row": rows, **self._where(rows), "text": text})
        wanted = self.untaken & (self.lengths > 0) & (self.lengths <= MAX_LINE_BYTES)
        return table if wanted.all() else table.filter(wanted)

    def numbered(self, rows: np.ndarray | None = None) -> pa.Table:
        """`path`, `version`, `line`, `body` (without its \n or \r\n) and `oversize` (the length of a line longer
        than MAX_LINE_BYTES, whose body is cut to PREVIEW_BYTES; else NULL) of the lines not taken by an earlier
        run, or of the given rows among them."""
        rows = np.flatnonzero(self.untaken) if rows is None else rows
        starts, stops, lengths = self.starts[rows], self.stops[rows], self.lengths[rows]
        # The chosen lines' bytes, slice by slice: the cost follows the lines, not the pieces' size (a mask over
        # the whole buffer took 0.7 s a 160 MB piece for one bad line).
        view = self.raw.data  # a memoryview of the buffer
        data = b"".join([view[start:stop] for start, stop in zip(starts.tolist(), stops.tolist(), strict=True)])
        offsets = np.concatenate(([0], np.cumsum(stops - starts)))
        body = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(rows),
                                                [None, pa.py_buffer(offsets), pa.py_buffer(data)])
        oversize = pa.array(np.where(lengths > MAX_LINE_BYTES, lengths, 0), pa.int64(), mask=lengths <= MAX_LINE_BYTES)
        return pa.table({**self._where(rows), "body": body, "oversize": oversize})


def numbered_lines(pieces: list[Piece]) -> pa.Table:
    """Every line of the pieces not taken by an earlier run: see Lines.numbered."""
    return Lines(pieces).numbered()


def decoded_lines_sql(lines: str, source: Source) -> str:
    """A SELECT of `lines` (numbered_lines' columns) as the source's fields, `path`, `version`, `line`,
    `reason` (NULL for a row) and `raw` (a rejected line's text, or its bytes escaped); blank lines left out."""
    return f"""
        SELECT * EXCLUDE (reason, raw_text, body, oversize),
               CASE WHEN oversize IS NULL THEN reason ELSE format(
                   'a line of {{:,}} bytes, over the {MAX_LINE_BYTES:,}-byte maximum (not parsed; its start kept)',
                   oversize) END AS reason,
               CASE WHEN reason IS NOT NULL OR oversize IS NOT NULL THEN coalesce(raw_text, body::VARCHAR) END AS raw
        FROM ({decode_sql(lines, {source.name: source.types}, source.key)})
        WHERE (reason IS NULL AND oversize IS NULL) OR trim(coalesce(raw_text, 'x')) <> ''
    """
