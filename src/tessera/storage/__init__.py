"""Datastores: one protocol (list, open, stat) over fsspec; path safety; no database access.

`build_datastore(kind, config, credentials)` gives a `Datastore` (local folder, S3, Azure Blob, GCS);
`encrypt_credentials`/`decrypt_credentials` keep its credentials unreadable at rest. See docs/storage.md.
"""

from tessera.storage.credentials import decrypt_credentials, encrypt_credentials, read_secret_key
from tessera.storage.errors import StorageError, StorageProblem
from tessera.storage.factory import KINDS, build_datastore
from tessera.storage.types import Datastore, FileEntry

__all__ = [
    "KINDS",
    "Datastore",
    "FileEntry",
    "StorageError",
    "StorageProblem",
    "build_datastore",
    "decrypt_credentials",
    "encrypt_credentials",
    "read_secret_key",
]
