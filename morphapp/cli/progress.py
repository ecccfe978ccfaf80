"""A tqdm progress bar fed by the engine's progress callback."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:  # the render module loads torch
    from morphapp.core.render.frames import Progress


class ProgressBar:
    def __init__(self, total: int, enabled: bool = True) -> None:
        # tqdm turns itself off when stderr is not a terminal (disable=None), so logs stay clean.
        self._bar = tqdm(total=total, unit="frame", file=sys.stderr, disable=None if enabled else True)

    def update(self, progress: Progress) -> None:
        if progress.stage == "encode":
            self._bar.set_description(f"encoding keyframes {progress.done}/{progress.total}")
        elif progress.stage == "denoise":  # a diffusion model's steps within the current frame
            self._bar.set_postfix_str(f"step {progress.done}/{progress.total}", refresh=True)
        else:
            self._bar.set_description("rendering")
            self._bar.total = progress.total  # a resumed export renders only the missing frames
            self._bar.n = progress.done
            self._bar.refresh()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.close()
