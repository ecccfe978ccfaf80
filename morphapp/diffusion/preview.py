"""Which installed TAE decodes a diffusion model's step previews: TAESD for SD 1.x/2.x, TAESDXL for SDXL.

Both have 4 latent channels but the latent spaces differ (a TAESD preview of SDXL latents has the
wrong colours), and the files say nothing else that tells them apart, so the name decides, as in
every UI that ships them (``taesd`` / ``taesdxl``). None when the matching one is not installed.
"""

from __future__ import annotations

from morphapp.models.discovery import scan
from morphapp.models.info import ModelInfo


def preview_model_for(family: str, latent_channels: int) -> ModelInfo | None:
    want_xl = family.split(" (")[0] == "SDXL"
    for info in scan().models:
        if (
            info.kind == "tae"
            and info.latent_channels == latent_channels
            and ("xl" in info.name.lower()) == want_xl
        ):
            return info
    return None
