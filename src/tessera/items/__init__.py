"""The items of a project, their state machine, filters and pagination."""
