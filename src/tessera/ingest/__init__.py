"""Datasets and their versions, project initialization, incremental refresh."""
