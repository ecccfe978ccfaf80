"""Recorded self-attention per keyframe for full-size UNets: before the budget, and the plan after.

    python bench/bench_attention_memory.py [--steps 25] [--attn-steps 0.6] [--budget-gb 4]

Builds the SD 1.5, SD 2.1 and SDXL UNets from their published configs with diffusers on the
``meta`` device (every module and shape as in the real model, no weights: an SDXL UNet would be
10 GB of random float32 otherwise; the budget only needs shapes) and prints a Markdown table:
bytes recorded per keyframe at 512², 768² and 1024² -- "before" as the recorder stored them
(every attn1 layer, float32, batch 1 unguided / 2 guided) and "after" with the plan
(``attention_budget.plan``: float16, then fewer layers / steps within the budget, which covers the
four keyframe states a morph keeps). ``tests/diffusion/test_attention_budget.py`` checks on tiny
UNets that the estimate is exactly what the hooks store. Goal (issue 14): SD 1.5 512² <= 0.3 GB
and SDXL 1024² <= 2 GB per keyframe, with attention still used.
"""

from __future__ import annotations

import argparse

import torch
from diffusers import UNet2DConditionModel
from sd_configs import UNET  # run as a script: bench/ is on the path

from morphapp.diffusion import attention_budget

CONFIGS = UNET  # bench/sd_configs.py: the published configurations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--attn-steps", type=float, default=0.6)
    parser.add_argument("--budget-gb", type=float, default=4.0)
    parser.add_argument("--host-gb", type=float, default=16.0, help="CPU memory an offloaded store may take")
    args = parser.parse_args()
    recorded_steps = round(args.steps * args.attn_steps)
    budget = int(args.budget_gb * attention_budget.GIB)
    gb = attention_budget.GIB
    print(f"{args.steps} steps, attention on the first {recorded_steps}; budget {args.budget_gb:g} GB "
          "for 4 keyframe states\n")  # fmt: skip
    host = int(args.host_gb * attention_budget.GIB)
    header = (
        "| UNet | size | attn1 layers | before (fp32) unguided / guided | after unguided / guided | plan | "
        f"on a GPU with {args.host_gb:g} GB for CPU offload |"
    )
    print(header)
    print("|---|---|---|---|---|---|---|")
    for name, config in CONFIGS.items():
        with torch.device("meta"):
            unet = UNet2DConditionModel(**config)  # type: ignore[arg-type]
        for side in (512, 768, 1024):
            shapes = attention_budget.layer_shapes(unet, (side, side), 8)
            before = [attention_budget.bytes_for(shapes, recorded_steps, b) * 2 for b in (1, 2)]  # fp32
            plans = [
                attention_budget.plan(
                    shapes, start=0, until=recorded_steps, batch=b, budget=budget, keyframes=4
                )
                for b in (1, 2)
            ]
            gpu = attention_budget.plan(
                shapes, start=0, until=recorded_steps, batch=2, budget=budget, keyframes=4, host=host
            )
            on_gpu = f"{gpu.what}, {gpu.steps} steps" + (", offloaded" if gpu.offload else "")
            print(f"| {name} | {side}² | {len(shapes)} | {before[0] / gb:.2f} / {before[1] / gb:.2f} GB | "
                  f"{plans[0].bytes_per_keyframe / gb:.2f} / {plans[1].bytes_per_keyframe / gb:.2f} GB | "
                  f"{plans[1].what}, {plans[1].steps} steps | {on_gpu} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
