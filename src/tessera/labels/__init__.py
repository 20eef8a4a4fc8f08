"""Annotations, validation against the project's task type (geometry, spans, classes), history."""
