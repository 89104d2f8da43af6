"""Lake files into bronze tables with Auto Loader semantics.

Each file is ingested once, tracked by path and checksum; new files are picked up
incrementally; a file whose content changed is ingested again as a new version. Like Auto
Loader's file notifications with a backfill interval, a run looks only at the names the lake's
writer logged since the last run and at names never seen, and stats every file in a full listing
at most `full_listing_every` apart (every run where the folder keeps no write log). A line that is
not a JSON object of the source's schema (or lacks its key) goes to bronze._quarantine with the
file, line and reason; missing non-key fields stay NULL for silver to judge. Rows and quarantine
are committed a piece (PIECE_LINES or PIECE_BYTES) at a time, each with where its file stands, so
memory stays bounded however big a file is and a run killed midway goes on from the last piece taken; a
file version counts as ingested (bronze._files) once its last piece is committed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa
from playground.catalog import Source
from playground.io.lake import Lake

from dagster_project.bronze.decode import clean_records_sql
from dagster_project.bronze.lines import Lines, Piece, decoded_lines_sql, file_pieces, split_piece
from dagster_project.bronze.store import DUCKDB_TYPES, committed_in_pieces, create_table, one_row

FULL_LISTING_EVERY = timedelta(hours=1)
CHUNK_BYTES = 32 << 20  # a file is read this much at a time
# A piece, decoded and committed at once, ends after this many lines or bytes. Two of DuckDB's row groups:
# an insert that fills row groups writes them to the table file, while a smaller one goes through the
# write-ahead log and a checkpoint (users into bronze took 3x longer with 50k-line pieces).
PIECE_LINES = 2 * 122_880
PIECE_BYTES = 256 << 20
METADATA_COLUMNS = {"_source_file": "VARCHAR", "_line": "BIGINT", "_file_version": "INTEGER",
                    "_ingested_at": "TIMESTAMP", "_batch_id": "VARCHAR"}


@dataclass(frozen=True)
class IngestResult:
    source: str
    batch_id: str
    files: int
    new_rows: int
    quarantined: int
    total_rows: int
    full_listing: bool
    gone: tuple[str, ...] = ()  # listed, then removed before they could be read


def ensure_tables(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    create_table(con, source.name, {**{f: DUCKDB_TYPES[t] for f, t in source.types.items()}, **METADATA_COLUMNS})
    con.execute("CREATE TABLE IF NOT EXISTS bronze._files (source VARCHAR, path VARCHAR, checksum VARCHAR, "
                "version INTEGER, stamp VARCHAR, records BIGINT, quarantined BIGINT, batch_id VARCHAR, "
                "ingested_at TIMESTAMP, PRIMARY KEY (source, path, version))")
    con.execute("CREATE TABLE IF NOT EXISTS bronze._listings (source VARCHAR, mark VARCHAR, listed_at TIMESTAMP)")
    con.execute("CREATE TABLE IF NOT EXISTS bronze._file_progress (source VARCHAR, path VARCHAR, version INTEGER, "
                "checksum VARCHAR, stamp VARCHAR, lines BIGINT, records BIGINT, quarantined BIGINT, batches VARCHAR[])")


def files_to_look_at(con: duckdb.DuckDBPyConnection, lake: Lake, source: Source, now: datetime,
                     full_listing_every: timedelta) -> tuple[dict[str, str], str | None, datetime | None]:
    """The stamps of the files that may be new or changed, the write log's mark reached, and when the
    folder was last listed in full (now, if this is a full listing)."""
    last = next(iter(con.execute("SELECT mark, listed_at FROM bronze._listings WHERE source = ?",
                                 [source.name]).fetchall()), None)
    written, mark = lake.written_since(source.folder, last[0] if last else None)
    if last is None or written is None or now - last[1] >= full_listing_every:  # no log mark without a last
        return lake.stamps(source.folder), mark, now
    # Names are cheap, stats are not: a stat only for what the log names and for names never seen.
    con.register("names", pa.table({"name": pa.array(lake.list(source.folder), pa.string())}))
    unseen = con.execute("SELECT name FROM names ANTI JOIN (SELECT path FROM bronze._files WHERE source = ?) f "
                         "ON f.path = ? || name", [source.name, f"{source.folder}/"]).fetchall()
    con.unregister("names")
    return lake.stamps(source.folder, {*written, *(n for (n,) in unseen)}), mark, last[1]


@dataclass
class FileVersion:
    """A file version being ingested, over every run that took part of it: lines 1..lines are in bronze."""
    path: str
    version: int
    checksum: str
    stamp: str
    lines: int = 0
    records: int = 0
    quarantined: int = 0
    batches: list[str] = field(default_factory=list)
    ended: bool = False  # every piece is added


class LineBatch:
    """Lines of one or many files, decoded in SQL a piece at a time: bronze rows for
    the good ones, quarantine for the bad ones, with file, line and reason, committed with where each
    file stands (bronze._file_progress) or, for a file whose last piece is in, its bronze._files row."""

    def __init__(self, con: duckdb.DuckDBPyConnection, commit: Callable[[], None], source: Source, batch_id: str,
                 now: datetime):
        self.con, self.commit, self.source, self.batch_id, self.now = con, commit, source, batch_id, now
        self.pieces: list[Piece] = []
        self.size = self.lines = 0
        self.open: dict[str, FileVersion] = {}  # files with pieces or an end since the last commit
        self.files = self.records = self.quarantined = 0  # taken by this run

    def start(self, file: FileVersion) -> None:
        if self.batch_id not in file.batches:
            file.batches.append(self.batch_id)
        self.open[file.path] = file

    def add(self, piece: Piece) -> None:
        # Cut where a piece has PIECE_LINES lines: inserts of whole row groups leave a checkpoint nothing to
        # merge (with 250k-line pieces, closing the warehouse after 1M users took 2.4 s more).
        while piece.last_line - piece.first_line + 1 > PIECE_LINES - self.lines:
            head, piece = split_piece(piece, PIECE_LINES - self.lines)
            self._append(head)
            self.flush()
        self._append(piece)
        if self.size >= PIECE_BYTES or self.lines == PIECE_LINES:
            self.flush()

    def _append(self, piece: Piece) -> None:
        self.pieces.append(piece)
        self.size += len(piece.data)
        self.lines += piece.last_line - piece.first_line + 1

    def end(self, path: str) -> None:
        self.open[path].ended = True

    def flush(self) -> None:
        """Decode and insert the pieces, write where their files stand, commit, and begin the next piece."""
        if self.pieces:
            self._insert()
        ended = [f for f in self.open.values() if f.ended]
        going = [f for f in self.open.values() if not f.ended]
        con, name = self.con, self.source.name
        con.execute("DELETE FROM bronze._file_progress WHERE source = ? AND list_contains(?, path)",
                    [name, list(self.open)])
        if going:
            con.executemany("INSERT INTO bronze._file_progress VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [(name, f.path, f.version, f.checksum, f.stamp, f.lines, f.records, f.quarantined,
                              f.batches) for f in going])
        if ended:  # one Arrow insert: DuckDB's executemany costs ~2 ms a row
            con.register("taken", pa.table({
                "source": [name] * len(ended), "path": [f.path for f in ended],
                "checksum": [f.checksum for f in ended], "version": pa.array([f.version for f in ended], pa.int32()),
                "stamp": [f.stamp for f in ended], "records": [f.records for f in ended],
                "quarantined": [f.quarantined for f in ended]}))
            con.execute("INSERT INTO bronze._files BY NAME SELECT *, ? AS batch_id, ?::TIMESTAMP AS ingested_at "
                        "FROM taken", [self.batch_id, self.now])
            con.unregister("taken")
        self.commit()
        self.files += len(ended)
        self.open = {f.path: f for f in going}

    def _insert(self) -> None:
        """The pieces' clean records straight into bronze in one statement; the other lines decoded by the
        full rules (decoded_lines_sql), into bronze or the quarantine with their reason."""
        con, source = self.con, self.source
        for piece in self.pieces:
            self.open[piece.path].lines = piece.last_line
        lines = Lines(self.pieces)
        self.pieces, self.size, self.lines = [], 0, 0
        stamp = [self.now, self.batch_id]
        into_bronze = (f"INSERT INTO bronze.{source.name} BY NAME SELECT {', '.join(source.types)}, "  # + a table
                       "path AS _source_file, line AS _line, version AS _file_version, ?::TIMESTAMP AS _ingested_at, "
                       "? AS _batch_id FROM ")
        slow = lines.untaken.copy()  # lines the full rules decide
        records = np.zeros(len(slow), bool)  # lines that went into bronze
        texts = lines.texts()
        if texts is not None and texts.num_rows:
            con.register("file_texts", texts)
            clean = f"SELECT * FROM ({clean_records_sql('file_texts', source.types, source.key)}) WHERE clean"
            taken = con.execute(f"{into_bronze}({clean})", stamp).fetchall()[0][0]
            rows = texts["row"].to_numpy()
            if taken < len(rows):  # rare: find which, with a second pass
                rows = con.sql(f"SELECT row FROM ({clean})").to_arrow_table()["row"].to_numpy()
            con.unregister("file_texts")
            slow[rows], records[rows] = False, True
        if slow.any():
            con.register("file_lines", lines.numbered(np.flatnonzero(slow)))
            con.execute("CREATE OR REPLACE TEMP TABLE decoded AS " + decoded_lines_sql("file_lines", source))
            con.unregister("file_lines")
            con.execute(f"{into_bronze}decoded WHERE reason IS NULL", stamp)
            con.execute("""INSERT INTO bronze._quarantine
                SELECT ?, path, line, reason, raw, ?, ?::TIMESTAMP FROM decoded WHERE reason IS NOT NULL""",
                        [source.name, self.batch_id, self.now])
            for path, good, quarantined in con.execute("""
                    SELECT path, count(*) FILTER (reason IS NULL), count(*) FILTER (reason IS NOT NULL)
                    FROM decoded GROUP BY path""").fetchall():
                self.open[path].records += good
                self.open[path].quarantined += quarantined
                self.records += good
                self.quarantined += quarantined
        for piece, clean in zip(lines.pieces, np.bincount(lines.owner[records], minlength=len(lines.pieces)),
                                strict=True):
            self.open[piece.path].records += int(clean)
            self.records += int(clean)


def checksum_of(lake: Lake, path: str) -> tuple[str, bytes | None]:
    """The file's SHA-256, and its bytes when it fits in one chunk (most do: it need not be read twice)."""
    digest = hashlib.sha256()
    whole: bytes | None = b""
    for number, chunk in enumerate(lake.read_chunks(path, CHUNK_BYTES)):
        digest.update(chunk)
        whole = chunk if number == 0 else None
    return digest.hexdigest(), whole


def abandon(con: duckdb.DuckDBPyConnection, source: Source, file: FileVersion) -> None:
    """A version partly taken whose file has changed since: its rows and quarantine go, its number is reused."""
    con.execute(f"DELETE FROM bronze.{source.name} WHERE _source_file = ? AND _file_version = ?",
                [file.path, file.version])
    con.execute("DELETE FROM bronze._quarantine WHERE source = ? AND location = ? AND list_contains(?, batch_id)",
                [source.name, file.path, file.batches])
    con.execute("DELETE FROM bronze._file_progress WHERE source = ? AND path = ?", [source.name, file.path])


def ingest_files(con: duckdb.DuckDBPyConnection, lake: Lake, source: Source,
                 full_listing_every: timedelta = FULL_LISTING_EVERY) -> IngestResult:
    ensure_tables(con, source)
    batch_id, now = uuid.uuid4().hex, datetime.now(UTC).replace(tzinfo=None)
    # Reading is what costs: a file with the size and time it had when last ingested is skipped unread.
    listed, mark, listed_at = files_to_look_at(con, lake, source, now, full_listing_every)
    con.register("listed", pa.table({"name": pa.array(list(listed), pa.string()),
                                     "stamp": pa.array(list(listed.values()), pa.string())}))
    candidates = con.execute(
        "SELECT l.path, l.stamp, f.checksum, f.version FROM (SELECT ? || name AS path, stamp FROM listed) l "
        "LEFT JOIN (SELECT * FROM bronze._files WHERE source = ? "
        "QUALIFY version = max(version) OVER (PARTITION BY path)) f USING (path) "
        "WHERE f.stamp IS DISTINCT FROM l.stamp ORDER BY l.path", [f"{source.folder}/", source.name]).fetchall()
    con.unregister("listed")
    partial = {row[0]: FileVersion(*row) for row in con.execute(
        "SELECT path, version, checksum, stamp, lines, records, quarantined, batches FROM bronze._file_progress "
        "WHERE source = ?", [source.name]).fetchall()}
    touched, gone = [], []
    with committed_in_pieces(con) as commit:  # flush() commits each piece
        lines = LineBatch(con, commit, source, batch_id, now)
        for path, stamp, last_checksum, last_version in candidates:
            try:
                checksum, data = checksum_of(lake, path)
            except FileNotFoundError:  # removed since the listing: nothing of it to take, the rest goes on
                gone.append(path)
                continue
            going = partial.get(path)
            if going and going.checksum != checksum:  # changed since a run stopped midway in it: start it again
                abandon(con, source, going)
                going = None
            if checksum == last_checksum and not going:  # touched, not changed: remember its stamp, not to read it
                touched.append((stamp, source.name, path, last_version))
                continue
            file = replace(going, stamp=stamp) if going else FileVersion(path, (last_version or 0) + 1, checksum, stamp)
            lines.start(file)
            chunks = [data] if data is not None else lake.read_chunks(path, CHUNK_BYTES)
            for piece in file_pieces(path, file.version, chunks):
                if piece.last_line > file.lines:  # not taken by an earlier run
                    lines.add(replace(piece, skip_through=file.lines))
            lines.end(path)
        lines.flush()
        if touched:
            con.executemany("UPDATE bronze._files SET stamp = ? WHERE source = ? AND path = ? AND version = ?", touched)
        con.execute("DELETE FROM bronze._listings WHERE source = ?", [source.name])
        con.execute("INSERT INTO bronze._listings VALUES (?, ?, ?)", [source.name, mark, listed_at])
    total = one_row(con.execute(f"SELECT count(*) FROM bronze.{source.name}"))[0]
    return IngestResult(source.name, batch_id, lines.files, lines.records, lines.quarantined, total, listed_at == now,
                        tuple(gone))
