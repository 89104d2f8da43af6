"""The playground's data side, in layers that import downwards only: the catalog and the error (no
imports), the I/O layer (io: lake, orders database, event bus), and the generators with their command."""
