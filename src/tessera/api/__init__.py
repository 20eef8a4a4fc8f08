"""The HTTP API: app factory, deps, error mapping (one place), routers/<stage>.py, schemas/<stage>.py."""
