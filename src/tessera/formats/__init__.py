"""Export and import: one module per format, a registry, golden sample files."""
