"""ONNX outlines: custom-op domains and external data outside the model's folder are refused.

The models are written with a few lines of protobuf encoding (``fakes.onnx_model_bytes``); when
the ``onnx`` package is installed, one test checks our reader against it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from morphapp.errors import ModelError
from morphapp.models.discovery import find_model, scan
from morphapp.models.onnx_check import check_onnx
from tests.models.fakes import onnx_model_bytes as model_bytes


def test_a_latent_decoder_is_outlined(tmp_path: Path) -> None:
    path = tmp_path / "decoder.onnx"
    path.write_bytes(model_bytes(inputs={"latent_sample": [1, 16, 64, 64]}))
    outline = check_onnx(path)
    assert outline.inputs == {"latent_sample": (1, 16, 64, 64)} and outline.domains == {""}
    info = scan([tmp_path]).models[0]
    assert (info.kind, info.family, info.latent_channels, info.usable) == (
        "onnx",
        "ONNX latent decoder",
        16,
        False,
    )


def test_external_data_outside_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.bin").write_bytes(b"\0" * 16)
    model = tmp_path / "model"
    model.mkdir()
    path = model / "unet.onnx"
    path.write_bytes(model_bytes(external="../outside.bin"))
    with pytest.raises(ModelError, match=r"refused: external data '../outside.bin' points outside"):
        check_onnx(path)
    with pytest.raises(ModelError, match="points outside"):
        find_model(str(path))


def test_external_data_through_a_symlink_out_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.bin").write_bytes(b"\0" * 16)
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").symlink_to(tmp_path / "outside.bin")
    path = model / "unet.onnx"
    path.write_bytes(model_bytes(external="weights.bin"))
    with pytest.raises(ModelError, match="is a link that leads outside the model's folder"):
        check_onnx(path)
    check_onnx(path, allowed_root=tmp_path)  # e.g. a Hugging Face cache repo's blobs folder


def test_external_data_inside_the_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "w.bin").write_bytes(b"\0" * 16)
    path = tmp_path / "m.onnx"
    path.write_bytes(model_bytes(external="weights/w.bin"))
    assert check_onnx(path).external_files == {"weights/w.bin"}


def test_custom_operator_domains_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "custom.onnx"
    path.write_bytes(model_bytes(domain="com.example.evilops"))
    with pytest.raises(ModelError, match="custom operators from com.example.evilops"):
        check_onnx(path)


@pytest.mark.parametrize("data", [b"", b"\x08", b"<html></html>", b"\x0a\xff\xff\xff\x0f"])
def test_junk_is_not_an_onnx_model(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(data)
    with pytest.raises(ModelError, match="not (a valid )?(an )?ONNX model"):
        check_onnx(path)


@pytest.mark.parametrize("domain", ["", "com.example.custom"])
def test_reader_agrees_with_the_onnx_package(tmp_path: Path, domain: str) -> None:
    import onnx  # the [test] and [onnx] extras install it
    from onnx import TensorProto, helper

    weight = helper.make_tensor("w", TensorProto.FLOAT, [4], bytes(16), raw=True)  # raw: can go external
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], domain=domain)],
        "g",
        [helper.make_tensor_value_info("latent", TensorProto.FLOAT, [1, 32, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])],
        [weight],
    )
    model = helper.make_model(graph)
    onnx.external_data_helper.convert_model_to_external_data(model, location="../w.bin", size_threshold=0)
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    expected = (
        "custom operators from com.example.custom" if domain else "external data '../w.bin' points outside"
    )
    with pytest.raises(ModelError, match=expected):
        check_onnx(path)
    onnx.external_data_helper.convert_model_from_external_data(model)
    path.write_bytes(model.SerializeToString())
    if not domain:
        assert check_onnx(path).inputs == {"latent": (1, 32, None, None)}
