"""Read a PyTorch state dict saved in the legacy (pre-1.6) format without PyTorch: the pretrained weights
ship as such a file, and importing torch to read 14 MB of floats would make it a run-time dependency.

The legacy format is a sequence of pickles — a magic number, the protocol version, the system's type
sizes, the state dict whose tensors point at storages by key, the list of storage keys — followed by each
storage's raw little-endian data after its element count. Only what a state dict of float tensors uses is
understood; anything else is refused by name.
"""

from __future__ import annotations

import collections
import pickle
import struct
from pathlib import Path
from typing import IO, Any

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_DTYPES: dict[str, type[np.generic]] = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}


class WeightsError(ValueError):
    """The file is not a state dict this reader understands."""


class _Storage:
    def __init__(self, dtype: type[np.generic], numel: int) -> None:
        self.dtype, self.numel = dtype, numel
        self.data: np.ndarray[Any, Any] | None = None


class _TensorRef:
    def __init__(
        self, storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]
    ) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def array(self) -> np.ndarray[Any, Any]:
        data = self.storage.data
        if data is None:
            raise WeightsError("a tensor points at a storage the file does not hold")
        itemsize = data.dtype.itemsize
        reach = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True)) + 1
        if self.size and min(self.size) > 0 and reach > len(data):
            raise WeightsError("a tensor reaches past the end of its storage")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :], shape=self.size, strides=tuple(s * itemsize for s in self.stride)
        )
        return np.array(view)  # a compact copy


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild
        if module == "torch" and name in _DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise WeightsError(f"unexpected object {module}.{name} in a weights file")

    def persistent_load(self, pid: Any) -> _Storage:
        if not isinstance(pid, tuple) or len(pid) < 5:
            raise WeightsError(f"unexpected persistent id {pid!r:.80}")
        kind, storage_type, key, _location, numel = pid[:5]
        if kind != "storage" or storage_type not in _DTYPES:
            raise WeightsError(f"unexpected storage {kind!r} of type {storage_type!r}")
        return self._storages.setdefault(key, _Storage(_DTYPES[storage_type], int(numel)))


def _rebuild(storage: _Storage, offset: int, size: Any, stride: Any, *_rest: Any) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(size), tuple(stride))


def load_legacy_state_dict(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    """The state dict in `path` as NumPy arrays by parameter name; WeightsError for anything else (a file
    of another format, a damaged or cut-short one)."""
    try:
        return _load(path)
    except WeightsError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        struct.error,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
    ) as error:
        raise WeightsError(f"{path.name} is not a readable legacy PyTorch file: {error}") from None


def _load(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    with path.open("rb") as file:
        storages: dict[str, _Storage] = {}
        magic = _Unpickler(file, storages).load()
        if magic != LEGACY_MAGIC:
            raise WeightsError(f"{path.name} is not a legacy PyTorch file (a zip-format file needs torch)")
        _Unpickler(file, storages).load()  # the protocol version
        _Unpickler(file, storages).load()  # the system's type sizes
        state = _Unpickler(file, storages).load()
        keys = _Unpickler(file, storages).load()
        for key in keys:
            storage = storages[key]
            (count,) = struct.unpack("<q", file.read(8))
            size = count * np.dtype(storage.dtype).itemsize
            data = file.read(size)
            if count != storage.numel or len(data) != size:
                raise WeightsError(
                    f"{path.name} is cut short: storage {key} holds {len(data)} of {size} bytes"
                )
            storage.data = np.frombuffer(data, dtype=storage.dtype)
    if not isinstance(state, dict):
        raise WeightsError(f"{path.name} does not hold a state dict")
    return {name: ref.array() for name, ref in state.items() if isinstance(ref, _TensorRef)}
