"""Consensus, review decisions, dashboard statistics."""
