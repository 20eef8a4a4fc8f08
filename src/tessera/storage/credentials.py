"""Datastore credentials at rest: a JSON object encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key
derived (HKDF-SHA256) from the `secret_key` setting. When that is unset, a random key is generated once and
kept in `<data_dir>/secret.key` (mode 0600, created under a temporary name and linked into place, so
concurrent first starts agree on one key). The database stores only the ciphertext."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tessera.core.settings import Settings
from tessera.storage.errors import StorageError, StorageProblem

SECRET_KEY_FILE = "secret.key"  # noqa: S105 - a file name, not a secret
KEY_CONTEXT = b"tessera datastore credentials v1"


def _create_key_file(path: Path) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails if another process made the key first: theirs wins
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links: rename, unless a key appeared meanwhile
            if not path.exists():
                os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_secret_key(settings: Settings) -> str:
    """The secret the credentials key is derived from: the setting, else `<data_dir>/secret.key`."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / SECRET_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_key_file(path)
    secret = path.read_text(encoding="ascii").strip()
    if not secret:
        raise StorageError(
            f"{path} is empty: restore it, or set TESSERA_SECRET_KEY",
            reason=StorageProblem.UNREADABLE_CREDENTIALS,
        )
    return secret


def _fernet(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_CONTEXT).derive(
        secret.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_credentials(credentials: Mapping[str, str], *, secret: str) -> str:
    """The credentials as an opaque text token, for the database."""
    payload = json.dumps(dict(credentials), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return _fernet(secret).encrypt(payload).decode("ascii")


def decrypt_credentials(token: str, *, secret: str) -> dict[str, str]:
    """The credentials back from `encrypt_credentials`; `StorageError` if the key is not the one used."""
    try:
        payload = _fernet(secret).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError, ValueError):
        raise StorageError(
            "the stored credentials cannot be decrypted with this secret key (was TESSERA_SECRET_KEY or "
            "<data_dir>/secret.key changed?): enter the credentials again",
            reason=StorageProblem.UNREADABLE_CREDENTIALS,
            field="credentials",
        ) from None
    decoded = json.loads(payload)
    if not isinstance(decoded, dict):
        raise StorageError(
            "the stored credentials are not an object", reason=StorageProblem.UNREADABLE_CREDENTIALS
        )
    return {str(key): str(value) for key, value in decoded.items()}
