"""Secrets and opaque identifiers."""

from __future__ import annotations

import base64
import hashlib
import secrets


def new_secret(prefix: str, nbytes: int = 32) -> str:
    """A URL-safe random secret with a readable prefix (e.g. `tsr_…` for API tokens)."""
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"


def digest(secret: str) -> str:
    """SHA-256 hex digest: secrets with 256 bits of entropy need no slow hash, only a one-way one."""
    return hashlib.sha256(secret.encode()).hexdigest()


MAX_ID = 2**31 - 1  # id columns are INTEGER: 32 bits on PostgreSQL (tables that need more use BIGINT)


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The position inside a cursor, or None when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    version, _, position = text.partition(":")
    if version != "v1" or not (position.isascii() and position.isdigit()) or int(position) > MAX_ID:
        return None
    return int(position)
