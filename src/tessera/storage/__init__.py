"""Datastores: one protocol (list, open, stat) over fsspec; path safety; no database access."""
