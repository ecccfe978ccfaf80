"""Stable Diffusion 1.5 / 2.1 / SDXL networks at full size with random weights, from their published
configurations (no download): every layer and shape of the real model, so time and memory are the
real ones; the pictures are noise.

``UNET`` holds the UNet configurations (diffusers' defaults are SD 1.x's); ``build_random_pipeline``
saves a whole pipeline folder (UNet, VAE, text encoder(s), tokenizer, scheduler) that morphapp loads
through its own code, as it would a downloaded model.
"""

from __future__ import annotations

from pathlib import Path

import torch

UNET: dict[str, dict[str, object]] = {
    "SD 1.5": dict(cross_attention_dim=768, attention_head_dim=8, sample_size=64),
    "SD 2.1": dict(
        cross_attention_dim=1024,
        attention_head_dim=(5, 10, 20, 20),
        use_linear_projection=True,
        sample_size=96,
    ),
    "SDXL": dict(
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(320, 640, 1280),
        transformer_layers_per_block=(1, 2, 10),
        attention_head_dim=(5, 10, 20),
        cross_attention_dim=2048,
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816,
        sample_size=128,
    ),
}
VAE: dict[str, object] = dict(
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    latent_channels=4,
    layers_per_block=2,
)
# CLIP ViT-L/14's text tower (SD 1.x, SDXL's first encoder) and OpenCLIP ViT-bigG's (SDXL's second).
_IDS = dict(bos_token_id=0, eos_token_id=2, pad_token_id=1, vocab_size=49408, max_position_embeddings=77)
CLIP_L: dict[str, object] = dict(
    hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
    projection_dim=768, hidden_act="quick_gelu", **_IDS,
)  # fmt: skip
CLIP_BIG_G: dict[str, object] = dict(
    hidden_size=1280, intermediate_size=5120, num_attention_heads=20, num_hidden_layers=32,
    projection_dim=1280, hidden_act="gelu", **_IDS,
)  # fmt: skip


def build_random_pipeline(family: str, folder: Path, device: torch.device, dtype: torch.dtype) -> Path:
    """A full-size ``family`` ("SD 1.5" or "SDXL") pipeline with random weights, saved under ``folder``.

    The weights are made on ``device`` (seconds on a GPU; an SDXL UNet is 2.6 G parameters) and saved in
    ``dtype`` as safetensors. The tokenizer is tests/diffusion/tiny_sd.py's byte-level one: prompts
    tokenize, and their ids stay within CLIP's vocabulary.
    """
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    from tests.diffusion.tiny_sd import build_tiny_sd

    tokenizer = CLIPTokenizer.from_pretrained(build_tiny_sd(folder / "tokenizer-source") / "tokenizer")
    xl = family == "SDXL"
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel(**UNET[family])  # type: ignore[arg-type]
        vae = AutoencoderKL(
            **VAE,  # type: ignore[arg-type]
            sample_size=1024 if xl else 512,
            scaling_factor=0.13025 if xl else 0.18215,
        )
        text = CLIPTextModel(CLIPTextConfig(**CLIP_L))
        text_2 = CLIPTextModelWithProjection(CLIPTextConfig(**CLIP_BIG_G)) if xl else None
    betas = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1)
    if xl:
        pipe = StableDiffusionXLPipeline(
            vae=vae, text_encoder=text, text_encoder_2=text_2, tokenizer=tokenizer, tokenizer_2=tokenizer,
            unet=unet, scheduler=EulerDiscreteScheduler(**betas, timestep_spacing="leading"),
        )  # fmt: skip
    else:
        pipe = StableDiffusionPipeline(
            vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet,
            scheduler=DDIMScheduler(**betas, clip_sample=False, set_alpha_to_one=False),
            safety_checker=None, feature_extractor=None, requires_safety_checker=False,
        )  # fmt: skip
    out = folder / family.lower().replace(" ", "").replace(".", "")
    pipe.to(dtype=dtype).save_pretrained(out, safe_serialization=True)
    del pipe, unet, vae, text, text_2
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return out
