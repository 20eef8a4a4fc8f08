"""Projects, task types, label classes, instructions, lifecycle (running / paused)."""
