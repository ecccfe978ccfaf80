"""Make morphapp/models/builtin/taef2.safetensors from the published TAEF2 .pth files.

    python scripts/make_builtin_models.py ../shared/models/taef2

Reads ``taef2_encoder.pth`` and ``taef2_decoder.pth`` (tensors only: ``weights_only=True``),
writes one float16 safetensors file in the Hugging Face layout (``encoder.layers.N``,
``decoder.layers.N``; see ``taesd.join_combined``), checks that it loads back to the very same
tensors, and prints its size and SHA-256. The output is deterministic: running it again on the
same inputs gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from morphapp.core.atomic import atomic_path
from morphapp.models import taesd
from morphapp.models.builtin import builtin_folder
from morphapp.models.weights import load_state_dict, sha256_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder with taef2_encoder.pth and taef2_decoder.pth")
    parser.add_argument("--out", type=Path, default=builtin_folder() / "taef2.safetensors")
    args = parser.parse_args(argv)
    encoder = load_state_dict(args.source / "taef2_encoder.pth")
    decoder = load_state_dict(args.source / "taef2_decoder.pth")
    taesd.load_network("encoder", encoder)  # both halves must be whole TAE networks
    taesd.load_network("decoder", decoder)
    combined = {k: v.contiguous() for k, v in taesd.join_combined(encoder, decoder).items()}
    metadata = {"format": "pt"}  # one key: safetensors writes a map's keys in no fixed order
    with atomic_path(args.out) as tmp:
        save_file(combined, str(tmp), metadata=metadata)
    back_encoder, back_decoder = taesd.split_combined(load_state_dict(args.out))
    for original, back in ((encoder, back_encoder), (decoder, back_decoder)):
        if original.keys() != back.keys() or not all(torch.equal(original[k], back[k]) for k in original):
            print(f"{args.out}: does not load back to the same tensors", file=sys.stderr)
            return 1
    print(f"{args.out}: {args.out.stat().st_size} bytes, sha256 {sha256_file(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
