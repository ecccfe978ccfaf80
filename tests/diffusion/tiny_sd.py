"""A tiny, randomly initialised Stable Diffusion pipeline built in-process (no download).

Real diffusers classes with small configs (UNet 32/64 channels, a 2-level VAE: 2x downscale,
a 2-layer CLIP text model, a byte-level CLIP tokenizer), saved with ``save_pretrained`` so that
tests load it through morphapp's real loading code. Its pictures are noise-like, but every
code path (inversion, attention hooks, guidance, VAE, scheduler config) is the real one.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

DOWNSCALE = 2  # two VAE levels


def build_tiny_sd(folder: Path) -> Path:
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=(2, 4), norm_num_groups=8,
    )  # fmt: skip
    vae = AutoencoderKL(
        block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=8,
        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
    )  # fmt: skip
    text = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0, eos_token_id=2, pad_token_id=1, hidden_size=32, intermediate_size=37,
            num_attention_heads=4, num_hidden_layers=2, vocab_size=1000,
        )
    )  # fmt: skip
    # A byte-level BPE vocabulary without merges: every character is a token.
    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    raw = folder / "tokenizer-source"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "vocab.json").write_text(json.dumps(vocab))
    (raw / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(raw / "vocab.json"), str(raw / "merges.txt"), model_max_length=77)
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False, steps_offset=1,
    )  # fmt: skip
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    out = folder / "tiny-sd"
    pipe.save_pretrained(out)
    return out


def build_tiny_sdxl(folder: Path) -> Path:
    """The SDXL layout in miniature: two text encoders (the second with a projection: the pooled
    embedding), and a UNet conditioned on it and on the size/crop ids ("text_time")."""
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    base = build_tiny_sd(folder)  # reuse its tokenizer files and VAE config
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, norm_num_groups=8,
        addition_embed_type="text_time", addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=6 * 8 + 32, cross_attention_dim=64,
    )  # fmt: skip
    config = CLIPTextConfig(
        bos_token_id=0, eos_token_id=2, pad_token_id=1, hidden_size=32, intermediate_size=37,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=1000, projection_dim=32,
    )  # fmt: skip
    vae = AutoencoderKL.from_pretrained(base / "vae")
    tokenizer = CLIPTokenizer.from_pretrained(base / "tokenizer")
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=CLIPTextModel(config), text_encoder_2=CLIPTextModelWithProjection(config),
        tokenizer=tokenizer, tokenizer_2=tokenizer, unet=unet,
        scheduler=EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                         steps_offset=1, timestep_spacing="leading"),
    )  # fmt: skip
    out = folder / "tiny-sdxl"
    pipe.save_pretrained(out)
    return out


# --- single-file checkpoints ------------------------------------------------------------------
# The inverse of diffusers' convert_ldm_unet_checkpoint / convert_ldm_vae_checkpoint /
# convert_ldm_clip_checkpoint for SD 1.x: the original CompVis/LDM key layout that single-file
# checkpoints (A1111, ComfyUI, Civitai) use. test_single_file.py checks it against those functions.

_LDM_RESNET = {
    "norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection",
}  # fmt: skip
_LDM_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _renamed(key: str, prefixes: list[tuple[str, str]], inner: dict[str, str] | None = None) -> str | None:
    """``key`` with its first matching diffusers prefix replaced by the LDM one (and, for a resnet or
    attention, its layer name by the LDM layer name); None if no prefix matches."""
    for new, old in prefixes:
        if key.startswith(new):
            rest = key[len(new) :]
            for name, ldm_name in (inner or {}).items():
                if rest.startswith(name + "."):
                    rest = ldm_name + rest[len(name) :]
                    break
            return old + rest
    return None


def ldm_unet_state_dict(unet: torch.nn.Module) -> dict[str, torch.Tensor]:
    config = unet.config  # type: ignore[attr-defined]
    per_block = config.layers_per_block
    plain = [
        ("time_embedding.linear_1.", "time_embed.0."), ("time_embedding.linear_2.", "time_embed.2."),
        ("conv_in.", "input_blocks.0.0."), ("conv_norm_out.", "out.0."), ("conv_out.", "out.2."),
    ]  # fmt: skip
    resnets = [("mid_block.resnets.0.", "middle_block.0."), ("mid_block.resnets.1.", "middle_block.2.")]
    attentions = [("mid_block.attentions.0.", "middle_block.1.")]
    for b in range(len(config.down_block_types)):
        for layer in range(per_block):
            i = 1 + b * (per_block + 1) + layer
            resnets.append((f"down_blocks.{b}.resnets.{layer}.", f"input_blocks.{i}.0."))
            attentions.append((f"down_blocks.{b}.attentions.{layer}.", f"input_blocks.{i}.1."))
        after = (b + 1) * (per_block + 1)  # the downsampler is an input block of its own
        plain.append((f"down_blocks.{b}.downsamplers.0.conv.", f"input_blocks.{after}.0.op."))
    for b, block_type in enumerate(config.up_block_types):
        for layer in range(per_block + 1):
            i = b * (per_block + 1) + layer
            resnets.append((f"up_blocks.{b}.resnets.{layer}.", f"output_blocks.{i}.0."))
            attentions.append((f"up_blocks.{b}.attentions.{layer}.", f"output_blocks.{i}.1."))
        last = (b + 1) * (per_block + 1) - 1  # the upsampler follows the last layer's attention, if any
        slot = 2 if "Attn" in block_type else 1
        plain.append((f"up_blocks.{b}.upsamplers.0.conv.", f"output_blocks.{last}.{slot}.conv."))
    out = {}
    for key, value in unet.state_dict().items():
        name = _renamed(key, plain) or _renamed(key, resnets, _LDM_RESNET) or _renamed(key, attentions)
        if name is None:
            raise ValueError(f"no LDM name for UNet key {key}")
        out["model.diffusion_model." + name] = value
    return out


def ldm_vae_state_dict(vae: torch.nn.Module) -> dict[str, torch.Tensor]:
    count = len(vae.config.up_block_types)  # type: ignore[attr-defined]
    plain = [("encoder.conv_norm_out.", "encoder.norm_out."), ("decoder.conv_norm_out.", "decoder.norm_out."),
             ("encoder.", "encoder."), ("decoder.", "decoder."), ("quant_conv.", "quant_conv."),
             ("post_quant_conv.", "post_quant_conv.")]  # fmt: skip
    resnets: list[tuple[str, str]] = []
    attentions = []
    for half in ("encoder", "decoder"):
        resnets += [(f"{half}.mid_block.resnets.{k}.", f"{half}.mid.block_{k + 1}.") for k in range(2)]
        attentions.append((f"{half}.mid_block.attentions.0.", f"{half}.mid.attn_1."))
    samplers = []  # before the plain encoder./decoder. prefixes, which match everything
    for i in range(len(vae.config.down_block_types)):  # type: ignore[attr-defined]
        resnets.append((f"encoder.down_blocks.{i}.resnets.", f"encoder.down.{i}.block."))
        samplers.append((f"encoder.down_blocks.{i}.downsamplers.0.", f"encoder.down.{i}.downsample."))
    for i in range(count):  # LDM numbers the decoder's levels from the bottom up
        resnets.append((f"decoder.up_blocks.{i}.resnets.", f"decoder.up.{count - 1 - i}.block."))
        samplers.append((f"decoder.up_blocks.{i}.upsamplers.0.", f"decoder.up.{count - 1 - i}.upsample."))
    plain = samplers + plain
    out = {}
    for key, value in vae.state_dict().items():
        attention = _renamed(key, attentions, _LDM_VAE_ATTENTION)
        if attention is not None:
            # LDM's attention projections are 1x1 convolutions.
            out["first_stage_model." + attention] = value[:, :, None, None] if value.ndim == 2 else value
            continue
        name = _renamed(key, resnets)
        if name is not None:
            # "resnets.J.conv_shortcut" -> "block.J.nin_shortcut"
            out["first_stage_model." + name.replace(".conv_shortcut.", ".nin_shortcut.")] = value
            continue
        name = _renamed(key, plain)
        if name is None:
            raise ValueError(f"no LDM name for VAE key {key}")
        out["first_stage_model." + name] = value
    return out


def ldm_clip_state_dict(text_encoder: torch.nn.Module) -> dict[str, torch.Tensor]:
    # transformers >= 5.6 flattened CLIPTextModel (no ``text_model.`` level); the checkpoint keeps it.
    return {
        "cond_stage_model.transformer." + (k if k.startswith("text_model.") else "text_model." + k): v
        for k, v in text_encoder.state_dict().items()
    }


def save_tiny_single_file(pipeline_folder: Path, out_file: Path) -> Path:
    """The SD 1.x pipeline in ``pipeline_folder`` as one LDM-layout ``.safetensors`` checkpoint."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPTextModel

    unet = UNet2DConditionModel.from_pretrained(pipeline_folder / "unet")
    vae = AutoencoderKL.from_pretrained(pipeline_folder / "vae")
    text = CLIPTextModel.from_pretrained(pipeline_folder / "text_encoder")
    state = {**ldm_unet_state_dict(unet), **ldm_vae_state_dict(vae), **ldm_clip_state_dict(text)}
    out_file.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(out_file))
    return out_file
