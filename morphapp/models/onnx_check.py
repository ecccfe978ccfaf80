"""Read an ONNX model's outline and refuse the unsafe ones, without the ``onnx`` package.

An ONNX file is a protobuf ``ModelProto``. We walk its wire format just far enough to learn:
the operator-set domains and node domains (anything beyond the standard and onnxruntime's
built-in ones needs a custom-op library, i.e. native code we would have to load), the graph
inputs (what the model expects: an image, a latent, a UNet's sample + timestep), and the
tensors stored as external data (their ``location`` must stay inside the model's folder, with
no ``..`` and no symlink that leads out). Field numbers are those of onnx/onnx.proto3.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from morphapp.errors import ModelError

# Domains executed by onnxruntime itself; any other domain means a custom-op library.
ALLOWED_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})
MAX_ONNX_BYTES = 2_000_000_000  # protobuf's own limit; bigger graphs must use external data
_GRAPH_SEEN = "\0graph"  # a marker put in ``domains`` once a graph was found

# ModelProto / GraphProto / NodeProto / TensorProto / ValueInfoProto field numbers.
_MODEL_GRAPH, _MODEL_OPSET, _MODEL_FUNCTIONS = 7, 8, 25
_OPSET_DOMAIN = 1
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_SPARSE_INIT = 1, 5, 11, 15
_NODE_ATTRIBUTE, _NODE_DOMAIN = 5, 7
_ATTR_GRAPH, _ATTR_GRAPHS = 6, 11
_FUNCTION_NODE, _FUNCTION_DOMAIN = 7, 10
_TENSOR_NAME, _TENSOR_EXTERNAL, _TENSOR_LOCATION = 8, 13, 14
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_ENTRY_KEY, _ENTRY_VALUE = 1, 2
_VALUE_NAME, _VALUE_TYPE = 1, 2
_TYPE_TENSOR, _TENSOR_TYPE_SHAPE, _SHAPE_DIM, _DIM_VALUE = 1, 2, 1, 1


@dataclass
class OnnxOutline:
    domains: set[str] = field(default_factory=set)
    inputs: dict[str, tuple[int | None, ...]] = field(default_factory=dict)  # None: a symbolic dim
    external_files: set[str] = field(default_factory=set)


def check_onnx(path: Path, allowed_root: Path | None = None) -> OnnxOutline:
    """Outline ``path`` and refuse custom-op domains and external data outside its folder.

    ``allowed_root`` widens where a symlinked external-data file may point (the Hugging Face
    cache keeps every file as a symlink into the repository's ``blobs`` folder).
    """
    try:
        size = path.stat().st_size
        if size > MAX_ONNX_BYTES:
            raise ModelError(f"{path}: too large for an ONNX file ({size} bytes)")
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    outline = OnnxOutline()
    try:
        _read_model(memoryview(data), outline)
    except (ValueError, IndexError) as exc:
        raise ModelError(f"{path}: not a valid ONNX model ({exc})") from exc
    if _GRAPH_SEEN not in outline.domains:
        raise ModelError(f"{path}: not an ONNX model (no graph)")
    outline.domains.discard(_GRAPH_SEEN)
    custom = sorted(outline.domains - ALLOWED_DOMAINS)
    if custom:
        raise ModelError(
            f"{path}: refused: uses custom operators from {', '.join(custom)}, which need a native "
            "custom-op library; morphapp loads no such code"
        )
    folder = path.parent
    for location in sorted(outline.external_files):
        _check_external(path, folder, location, allowed_root)
    return outline


def _check_external(path: Path, folder: Path, location: str, allowed_root: Path | None) -> None:
    relative = Path(location)
    if relative.is_absolute() or ".." in relative.parts or not location:
        raise ModelError(f"{path}: refused: external data {location!r} points outside the model's folder")
    target = folder / relative
    inside = _is_within(target.resolve(), folder.resolve())
    if not inside and allowed_root is not None:
        inside = _is_within(target.resolve(), allowed_root.resolve())
    if not inside:
        raise ModelError(
            f"{path}: refused: external data {location!r} is a link that leads outside the model's folder"
        )
    if not target.is_file():
        raise ModelError(f"{path}: external data file {location!r} is missing")


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _read_model(buf: memoryview, out: OnnxOutline) -> None:
    for number, value in _fields(buf):
        if number == _MODEL_OPSET and isinstance(value, memoryview):
            out.domains.add(_text(_first(value, _OPSET_DOMAIN)) or "")
        elif number == _MODEL_GRAPH and isinstance(value, memoryview):
            out.domains.add(_GRAPH_SEEN)
            _read_graph(value, out, top=True)
        elif number == _MODEL_FUNCTIONS and isinstance(value, memoryview):
            for fnum, fval in _fields(value):
                if fnum == _FUNCTION_DOMAIN and isinstance(fval, memoryview):
                    out.domains.add(_text(fval))
                elif fnum == _FUNCTION_NODE and isinstance(fval, memoryview):
                    _read_node(fval, out)


def _read_graph(buf: memoryview, out: OnnxOutline, top: bool = False) -> None:
    for number, value in _fields(buf):
        if not isinstance(value, memoryview):
            continue
        if number == _GRAPH_NODE:
            _read_node(value, out)
        elif number == _GRAPH_INITIALIZER:
            _read_tensor(value, out)
        elif number == _GRAPH_SPARSE_INIT:
            for snum, sval in _fields(value):
                if snum in (_SPARSE_VALUES, _SPARSE_INDICES) and isinstance(sval, memoryview):
                    _read_tensor(sval, out)
        elif number == _GRAPH_INPUT and top:
            name = _text(_first(value, _VALUE_NAME))
            out.inputs[name] = _input_shape(_first(value, _VALUE_TYPE))


def _read_node(buf: memoryview, out: OnnxOutline) -> None:
    domain = ""
    for number, value in _fields(buf):
        if number == _NODE_DOMAIN and isinstance(value, memoryview):
            domain = _text(value)
        elif number == _NODE_ATTRIBUTE and isinstance(value, memoryview):
            for anum, aval in _fields(value):  # If / Loop / Scan bodies are graphs too
                if anum in (_ATTR_GRAPH, _ATTR_GRAPHS) and isinstance(aval, memoryview):
                    _read_graph(aval, out)
    out.domains.add(domain)


def _read_tensor(buf: memoryview, out: OnnxOutline) -> None:
    external = False
    location = None
    for number, value in _fields(buf):
        if number == _TENSOR_LOCATION and value == 1:  # DataLocation.EXTERNAL
            external = True
        elif (
            number == _TENSOR_EXTERNAL
            and isinstance(value, memoryview)
            and _text(_first(value, _ENTRY_KEY)) == "location"
        ):
            location = _text(_first(value, _ENTRY_VALUE))
    if external or location is not None:
        out.external_files.add(location or "")


def _input_shape(type_proto: memoryview | None) -> tuple[int | None, ...]:
    tensor = _first(type_proto, _TYPE_TENSOR) if type_proto is not None else None
    shape = _first(tensor, _TENSOR_TYPE_SHAPE) if tensor is not None else None
    if shape is None:
        return ()
    dims: list[int | None] = []
    for number, dim in _fields(shape):
        if number == _SHAPE_DIM and isinstance(dim, memoryview):
            value = next((v for n, v in _fields(dim) if n == _DIM_VALUE and isinstance(v, int)), None)
            dims.append(value)
    return tuple(dims)


def _first(buf: memoryview | None, wanted: int) -> memoryview | None:
    if buf is None:
        return None
    return next((v for n, v in _fields(buf) if n == wanted and isinstance(v, memoryview)), None)


def _text(buf: memoryview | None) -> str:
    return bytes(buf).decode("utf-8", errors="replace") if buf is not None else ""


def _fields(buf: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """Protobuf wire format: (field number, varint value or length-delimited bytes)."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise ValueError("a field runs past the end of its message")
            yield number, buf[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            if pos > end:
                raise ValueError("a fixed-size field runs past the end")
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def describe_inputs(outline: OnnxOutline) -> tuple[str, int | None]:
    """A family and latent-channel guess from the graph inputs (what the model takes in)."""
    names = set(outline.inputs)
    if "input_ids" in names:
        return "ONNX text encoder", None
    if {"timestep", "encoder_hidden_states"} & names:
        sample = outline.inputs.get("sample", ())
        return "ONNX diffusion UNet / transformer", sample[1] if len(sample) == 4 else None
    four_d = [shape for shape in outline.inputs.values() if len(shape) == 4]
    if len(four_d) == 1:
        channels = four_d[0][1]
        if channels == 3:
            return "ONNX image encoder", None
        return "ONNX latent decoder", channels
    return "ONNX model", None
