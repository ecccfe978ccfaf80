"""DDIM denoising and inversion against denoisers whose right answer is known in closed form."""

from __future__ import annotations

import pytest
import torch

from morphapp.diffusion.ddim import DdimSchedule, denoise, invert

SD_SCHEDULER = {
    "_class_name": "DDIMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1,
    "num_train_timesteps": 1000,
}  # fmt: skip


def schedule(steps: int, prediction: str = "epsilon", **config: object) -> DdimSchedule:
    return DdimSchedule.from_scheduler_config(
        {**SD_SCHEDULER, "prediction_type": prediction, **config}, steps
    )


def oracle(target: torch.Tensor, sched: DdimSchedule, prediction: str):  # type: ignore[no-untyped-def]
    """The ideal model when all data is one latent ``target``: it knows the clean latent exactly."""

    def model(x: torch.Tensor, index: int, _timestep: int) -> torch.Tensor:
        alpha = sched.level(index)
        a, s = alpha**0.5, (1 - alpha) ** 0.5
        eps = (x - a * target) / s
        if prediction == "epsilon":
            return eps
        if prediction == "v_prediction":
            return a * eps - s * target
        return target

    return model


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction", "sample"])
def test_denoising_with_an_ideal_model_lands_on_the_data(prediction: str) -> None:
    torch.manual_seed(0)
    target = torch.randn(1, 4, 8, 8)
    sched = schedule(10, prediction, set_alpha_to_one=True)  # the last step lands on clean data
    out = denoise(torch.randn(1, 4, 8, 8), sched, oracle(target, sched, prediction))
    torch.testing.assert_close(out, target, atol=1e-4, rtol=0)


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("start", [0, 5])
def test_inversion_then_denoising_returns_the_latent(prediction: str, start: int) -> None:
    """Inversion evaluates the model one level off (the next latent is unknown): a small error that
    shrinks with more steps."""
    torch.manual_seed(1)
    target = torch.randn(1, 4, 8, 8)
    errors = []
    for steps in (10, 50):
        sched = schedule(steps, prediction)
        model = oracle(target, sched, prediction)
        noise = invert(target, sched, model, start=start * steps // 10)
        assert (noise - target).abs().mean() > 0.1  # it moved
        back = denoise(noise, sched, model, start=start * steps // 10)
        errors.append(float((back - target).abs().max()))
    assert errors[0] < 0.05
    assert errors[1] < errors[0] / 2


def test_a_constant_noise_prediction_inverts_exactly() -> None:
    sched = schedule(20)
    latent = torch.randn(1, 4, 8, 8)

    def constant(x: torch.Tensor, _index: int, _timestep: int) -> torch.Tensor:
        return torch.full_like(x, 0.3)

    back = denoise(invert(latent, sched, constant), sched, constant)
    torch.testing.assert_close(back, latent, atol=1e-5, rtol=0)


def test_the_schedule_follows_the_model_config() -> None:
    sched = schedule(20)
    assert sched.steps == 20
    assert sched.timesteps[0] == 951 and sched.timesteps[-1] == 1  # "leading" spacing + steps_offset
    assert sched.level(0) < 0.01 and sched.level(20) == pytest.approx(0.99915, abs=1e-5)
