"""Validate a ``.safetensors`` header ourselves before anything maps the file.

A safetensors file is an 8-byte little-endian header length, a JSON header, then one data area
that every tensor slices with ``data_offsets``. A downloaded or hand-renamed file can lie in
each of those: a header length past the end of the file, offsets that overlap or leave the
data area, a byte range that does not fit the shape, a dtype no loader knows. We read only the
header (bounded in size), check all of it, and only then let ``safetensors`` map the data, so a
bad file is one clear ``ModelError`` and nothing is loaded. The same header tells discovery
what a model is (keys and shapes) without reading gigabytes of weights.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from morphapp.errors import ModelError

# The safetensors format itself caps the header at 100 MB; real headers are well under 1 MB.
MAX_HEADER_BYTES = 100_000_000

DTYPE_SIZES: dict[str, int] = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


@dataclass(frozen=True)
class TensorEntry:
    dtype: str
    shape: tuple[int, ...]
    start: int  # byte range inside the data area
    end: int


@dataclass(frozen=True)
class SafetensorsHeader:
    tensors: dict[str, TensorEntry]
    metadata: dict[str, str]
    data_start: int  # file offset of the data area

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: entry.shape for name, entry in self.tensors.items()}


def read_header(path: Path) -> SafetensorsHeader:
    """Read and fully validate the header of a safetensors file; raise ``ModelError`` if anything is off."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            prefix = fh.read(8)
            if len(prefix) < 8:
                raise ModelError(f"{path}: damaged safetensors file (only {size} bytes)")
            header_len = int.from_bytes(prefix, "little")
            if header_len > MAX_HEADER_BYTES:
                raise ModelError(
                    f"{path}: damaged safetensors file (header claims {header_len} bytes; the limit is "
                    f"{MAX_HEADER_BYTES})"
                )
            if 8 + header_len > size:
                raise ModelError(
                    f"{path}: damaged or truncated safetensors file (header of {header_len} bytes runs past "
                    f"the end of the {size}-byte file)"
                )
            raw = fh.read(header_len)
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    doc = _parse_json(path, raw)
    return _validate(path, doc, data_start=8 + header_len, data_len=size - 8 - header_len)


def _parse_json(path: Path, raw: bytes) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("a tensor name appears twice")
        return dict(pairs)

    try:
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path}: damaged safetensors file (header is not valid JSON: {exc})") from exc
    if not isinstance(doc, dict):
        raise ModelError(f"{path}: damaged safetensors file (header is not a JSON object)")
    return doc


def _validate(path: Path, doc: dict[str, Any], data_start: int, data_len: int) -> SafetensorsHeader:
    def bad(why: str) -> ModelError:
        return ModelError(f"{path}: damaged safetensors file ({why})")

    metadata = doc.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise bad("__metadata__ must map names to strings")
    tensors: dict[str, TensorEntry] = {}
    for name, info in doc.items():
        if not isinstance(info, dict):
            raise bad(f"tensor {name!r} is not described by an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in DTYPE_SIZES:
            raise bad(f"tensor {name!r} has an unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
            raise bad(f"tensor {name!r} has an invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
            raise bad(f"tensor {name!r} has invalid data_offsets {offsets!r}")
        start, end = offsets
        if start > end or end > data_len:
            raise bad(
                f"tensor {name!r} bytes {start}-{end} lie outside the {data_len}-byte data area; "
                "the file may be truncated"
            )
        expected = math.prod(shape) * DTYPE_SIZES[dtype]
        if end - start != expected:
            raise bad(f"tensor {name!r} has {end - start} bytes; shape {shape} of {dtype} needs {expected}")
        tensors[name] = TensorEntry(dtype, tuple(shape), start, end)
    _check_layout(tensors, data_len, bad)
    return SafetensorsHeader(tensors, dict(metadata), data_start)


def _check_layout(tensors: dict[str, TensorEntry], data_len: int, bad: Any) -> None:
    """Tensors must tile the data area exactly, as the format requires: no overlap, no gap, no tail."""
    position = 0
    for name, entry in sorted(tensors.items(), key=lambda item: (item[1].start, item[1].end)):
        if entry.start < position:
            raise bad(f"tensor {name!r} overlaps the tensor before it")
        if entry.start > position:
            raise bad(f"{entry.start - position} unused bytes before tensor {name!r}")
        position = entry.end
    if position != data_len:
        raise bad(f"{data_len - position} bytes after the last tensor")


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
