"""A TAE-family model as a ``LatentCodec``: load once, then encode and decode batches.

Half precision (float16/bfloat16) is fast on GPUs but float16 overflows above 65504: an unusual
latent or image can make a batch come out as NaN/Inf. Every batch is checked; a non-finite one
is run again through a float32 copy of the network, built from the original weights on first
need and kept for later batches, so the frame equals what a float32 codec gives. Only when
float32 is non-finite too (damaged weights) is it a ``ModelError``. Retrying per batch (not
switching for good) keeps each frame a function of its own batch alone, so a resumed or partial
render gives the same frames as a full one.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from morphapp.errors import ModelError
from morphapp.models import taesd
from morphapp.models.discovery import ModelInfo
from morphapp.models.weights import StateDict, load_state_dict

_log = logging.getLogger(__name__)


class TaeCodec:
    downscale = taesd.DOWNSCALE

    def __init__(
        self,
        info: ModelInfo,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
        *,
        note: Callable[[str], None] | None = None,
    ) -> None:
        if info.decoder is None or info.latent_channels is None:  # discovery sets both for every TAE
            raise ModelError(
                f"{info.name}: a {info.kind} model without TAE decoder weights; cannot run it as a TAE"
            )
        self.info = info
        self.name = info.name
        self.latent_channels: int = info.latent_channels
        self.device = device
        self.dtype = dtype
        # Where the one-time "retrying in float32" message goes; None: the logging module.
        self.note = note
        self.float32_retries = 0  # batches that needed the float32 fallback
        encoder_state, decoder_state = self._states(info, info.decoder)
        self._encoder = self._build("encoder", encoder_state) if encoder_state is not None else None
        self._decoder = self._build("decoder", decoder_state)
        self.model_id = f"{info.name}:{_fingerprint(encoder_state, decoder_state)}"
        # The original weights, for the float32 fallback: a copy of the half-precision network
        # would carry its rounded weights and not give the float32 codec's frames.
        self._states_for_fallback = {"encoder": encoder_state, "decoder": decoder_state} if self._half else {}
        self._float32_nets: dict[str, nn.Module] = {}

    @staticmethod
    def _states(info: ModelInfo, decoder: Path) -> tuple[StateDict | None, StateDict]:
        """The encoder's weights (None if the model has none) and the decoder's (``decoder``: its file)."""
        if info.combined:
            encoder, decoder_state = taesd.split_combined(load_state_dict(decoder))
            return (encoder or None), decoder_state
        encoder_state = load_state_dict(info.encoder) if info.encoder is not None else None
        return encoder_state, load_state_dict(decoder)

    @property
    def _half(self) -> bool:
        return self.dtype in (torch.float16, torch.bfloat16)

    def _build(self, half: str, state: StateDict, dtype: torch.dtype | None = None) -> nn.Module:
        try:
            net, _ = taesd.load_network(half, state)
        except (RuntimeError, ValueError) as exc:
            first_line = str(exc).strip().splitlines()[0]
            raise ModelError(
                f"{self.info.name}: the {half} weights do not fit a TAE {half} ({first_line})"
            ) from exc
        # channels_last lets oneDNN/cuDNN pick their fast NHWC convolutions: 1.4x on a 2-core CPU.
        # torch's stubs for Module.to lack memory_format, which it takes at runtime.
        return net.to(  # type: ignore[call-overload]
            device=self.device, dtype=dtype or self.dtype, memory_format=torch.channels_last
        )

    @torch.inference_mode()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        if self._encoder is None:
            raise ModelError(f"{self.name}: has no encoder weights, so it cannot turn images into latents")
        _check_divisible(images, self.downscale)
        out = self._run("encoder", self._encoder, images)
        return out.to("cpu", torch.float32).contiguous()

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        out = self._run("decoder", self._decoder, latents).clamp_(0.0, 1.0)
        return out.to("cpu", torch.float32).contiguous()

    def _run(self, half: str, net: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        """Run ``net`` on ``batch``; redo a non-finite half-precision result in float32."""
        out = net(batch.to(device=self.device, dtype=self.dtype, memory_format=torch.channels_last))
        if bool(torch.isfinite(out).all()):
            return out
        what = "encode" if half == "encoder" else "decode"
        if self._half:
            del out  # free the half-precision activations before the float32 pass
            net32 = self._float32_net(half, what)
            self.float32_retries += 1
            out = net32(batch.to(device=self.device, dtype=torch.float32, memory_format=torch.channels_last))
            if bool(torch.isfinite(out).all()):
                return out
        where = "even in float32" if self._half else "in float32"
        raise ModelError(
            f"{self.name}: {what} produced NaN/Inf {where}; the model file may be damaged "
            "(re-download it) or the input is extreme"
        )

    def _float32_net(self, half: str, what: str) -> nn.Module:
        net = self._float32_nets.get(half)
        if net is None:
            state = self._states_for_fallback[half]
            assert state is not None  # encode() refuses a codec without encoder weights first
            net = self._build(half, state, torch.float32)
            self._float32_nets[half] = net
            if len(self._float32_nets) == 1:  # say it once, not once per half
                precision = str(self.dtype).removeprefix("torch.")
                message = (
                    f"{self.name}: {what} overflowed in {precision} (NaN/Inf); batches that do are redone "
                    "in float32 (slower; --dtype float32 avoids the retries)"
                )
                if self.note is not None:
                    self.note(message)
                else:
                    _log.warning("%s", message)
        return net


def _check_divisible(images: torch.Tensor, factor: int) -> None:
    height, width = images.shape[-2:]
    if height % factor or width % factor:
        raise ValueError(f"image size {width}x{height} is not a multiple of {factor}")


def _fingerprint(*states: StateDict | None) -> str:
    """A short hash of the weights themselves, so renamed or edited files never share cache entries."""
    digest = hashlib.sha256()
    for state in states:
        if state is None:
            continue
        for key in sorted(state):
            tensor = state[key].detach().contiguous().cpu()
            digest.update(key.encode())
            digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()[:16]
