"""Settings, domain errors, ids and the clock. Imports nothing else of tessera."""
