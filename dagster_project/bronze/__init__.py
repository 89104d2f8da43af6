"""Bronze: incremental, append-only ingestion of every source, with bookkeeping committed
together with the rows, so a re-run after a crash neither loses nor duplicates a record."""
