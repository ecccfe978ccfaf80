"""Expression keyframes with a diffusion model: arithmetic on the text conditioning and the noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from morphapp.core.domain.diffusion_settings import DiffusionSettings
from morphapp.core.domain.keyframes import ExprKeyframe, ExprTerm, Keyframe, PromptKeyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.diffusion.conditioning import Conditioning
from morphapp.diffusion.model import DiffusionModel
from morphapp.diffusion.morph import DiffusionMorpher
from morphapp.diffusion.noise import combine_noise

SIZE = (32, 32)


def settings(frames: int = 3) -> MorphSettings:
    return MorphSettings(size=SIZE, frames=frames, diffusion=DiffusionSettings(steps=4))


def test_noise_of_one_seed_is_kept_and_independent_noises_keep_their_spread() -> None:
    g = torch.Generator().manual_seed(0)
    a, b, c = (torch.randn((1, 4, 16, 16), generator=g) for _ in range(3))
    assert torch.equal(combine_noise([1.0, -1.0, 1.0], [a, a, a]), a)
    mixed = combine_noise([1.0, -1.0, 1.0], [a, b, c])
    plain = a - b + c  # 1.7x the spread of its terms: the model would denoise it to mush
    assert plain.std().item() == pytest.approx(3**0.5, rel=0.1)
    std = mixed.std(dim=(2, 3))
    expected = torch.stack([x.std(dim=(2, 3)) for x in (a, b, c)]).mean(0)
    torch.testing.assert_close(std, expected, rtol=1e-4, atol=1e-4)
    # still the direction of the sum (only mean and spread are set per channel)
    cosine = torch.nn.functional.cosine_similarity(mixed.flatten(), plain.flatten(), dim=0)
    assert cosine.item() > 0.99


def test_conditioning_arithmetic_is_the_weighted_sum(tiny_sd: DiffusionModel) -> None:
    king, man, woman = (tiny_sd.encode_prompt(p, SIZE) for p in ("a king", "a man", "a woman"))
    total = Conditioning.weighted_sum([1.0, -1.0, 1.0], [king, man, woman])
    torch.testing.assert_close(total.embeds, king.embeds - man.embeds + woman.embeds)


def test_prompt_arithmetic_keyframe(tiny_sd: DiffusionModel) -> None:
    arith = ExprKeyframe(
        (ExprTerm(1.0, PromptKeyframe("a king")), ExprTerm(-1.0, PromptKeyframe("a man")),
         ExprTerm(1.0, PromptKeyframe("a woman")))
    )  # fmt: skip
    keyframes = [arith, PromptKeyframe("a castle", seed=5)]
    morpher = DiffusionMorpher(tiny_sd, keyframes, settings())
    state = morpher.keyframe_state(0)
    conds = [tiny_sd.encode_prompt(p, SIZE) for p in ("a king", "a man", "a woman")]
    torch.testing.assert_close(state.cond.embeds, conds[0].embeds - conds[1].embeds + conds[2].embeds)
    assert state.guidance == morpher.guidance != 1.0  # made from text: guided
    # the terms share the keyframe's seed (the morph's seed + its index): one noise, the layout kept
    woman = DiffusionMorpher(tiny_sd, [PromptKeyframe("a woman"), keyframes[1]], settings())
    assert torch.equal(state.noise, woman.keyframe_state(0).noise)
    assert np.abs(state.pixels.astype(int) - woman.keyframe_pixels(0).astype(int)).mean() > 1.0
    # a one-term expression is its prompt keyframe, exactly
    one_term = ExprKeyframe((ExprTerm(1.0, PromptKeyframe("a woman")),))
    single = DiffusionMorpher(tiny_sd, [one_term, keyframes[1]], settings())
    np.testing.assert_array_equal(single.keyframe_pixels(0), woman.keyframe_pixels(0))


def test_image_arithmetic_inverts_each_term_once(tiny_sd: DiffusionModel, pairs_dir: Path) -> None:
    cat, dog, lion = (Keyframe(pairs_dir / n) for n in ("cat.png", "dog.png", "lion.png"))
    arith = ExprKeyframe((ExprTerm(1.0, cat), ExprTerm(-1.0, dog), ExprTerm(1.0, lion)))
    morpher = DiffusionMorpher(tiny_sd, [arith, dog], settings())
    morpher.prepare([0, 1])
    assert morpher.inversions_run == 3  # cat, dog, lion; the dog keyframe reuses its term's inversion
    state = morpher.keyframe_state(0)
    assert state.guidance == 1.0  # images only: unguided, as they were inverted
    frames = [morpher.frame(0, 1, t) for t in (0.0, 0.5, 1.0)]
    assert all(f.shape == (32, 32, 3) for f in frames)
    again = DiffusionMorpher(tiny_sd, [arith, dog], settings(), cache=morpher.cache)
    np.testing.assert_array_equal(again.keyframe_pixels(0), frames[0])
    assert again.inversions_run == 0


def test_one_shared_noise_is_kept_even_when_the_weights_cancel() -> None:
    noise = torch.randn((1, 4, 8, 8), generator=torch.Generator().manual_seed(3))
    assert torch.equal(combine_noise([1.0, -1.0], [noise, noise]), noise)  # "a king - a man": the text's
