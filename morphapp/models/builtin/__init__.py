"""The models that ship inside the package, so a fresh install renders offline at once.

``taef2.safetensors`` is TAEF2 (madebyollin/taesd, MIT: ``LICENSE-taef2`` beside it), converted
from the published ``taef2_encoder.pth`` / ``taef2_decoder.pth`` by ``scripts/make_builtin_models.py``
into one float16 safetensors file in the layout of the Hugging Face repository madebyollin/taef2
(``encoder.layers.N.*`` / ``decoder.layers.N.*``). Discovery searches this folder last, so any
model the artist installs comes first.
"""

from __future__ import annotations

import os
from pathlib import Path

SOURCE = "built-in"  # the WHERE column of ``morphapp models``
# For packagers who keep data files elsewhere (and tests of a broken install): the folder to use.
ENV_VAR = "MORPHAPP_BUILTIN_MODELS"


def builtin_folder() -> Path:
    given = os.environ.get(ENV_VAR, "").strip()
    if given:
        return Path(os.path.abspath(os.path.expanduser(given)))
    return Path(__file__).resolve().parent
