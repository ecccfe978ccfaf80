"""Auto-align off the GUI thread: one worker thread, one job at a time, cancellable.

The engine's ``align_keyframes`` takes 0.1-3 s per pair on a 2-core CPU (faces, or features and
optical flow); on the GUI thread that froze the window. ``AlignRunner.start`` hands the job to a
worker thread and returns at once; ``finished`` brings the points (or None when cancelled) and
the status line back to the GUI thread. A cancelled job's result is dropped even if the worker
was past its last cancel point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from morphapp.core.align import align_keyframes
from morphapp.core.cancel import CancelToken
from morphapp.core.keyframes import Keyframe
from morphapp.core.settings import MorphSettings
from morphapp.errors import Cancelled, MorphError
from morphapp.models.info import ModelInfo


class _AlignWorker(QObject):
    done = Signal(int, object, str)  # job number, points per segment (None: cancelled), status text

    def __init__(self) -> None:
        super().__init__()
        self._models: dict[str, Any] = {}  # diffusion models loaded for semantic points, by name

    @Slot()
    def release(self) -> None:
        self._models.clear()  # gigabytes for an SD model: gone when the artist goes back to pixels

    @Slot(int, object, object, object, object)
    def run(
        self, job: int, keyframes: Sequence[Keyframe], settings: MorphSettings, cancel: CancelToken,
        semantic: tuple[ModelInfo, str] | None,
    ) -> None:  # fmt: skip
        lines: list[str] = []
        try:
            if semantic is None:
                self.release()
            aligner = self._semantic(*semantic, lines.append) if semantic is not None else None
            found = align_keyframes(keyframes, settings, lines.append, cancel=cancel, semantic=aligner)
        except Cancelled:
            self.done.emit(job, None, "Auto-align cancelled.")
            return
        except MorphError as exc:
            self.done.emit(job, (), str(exc))
            return
        except Exception as exc:  # a bug: say it rather than dying silently on a thread
            self.done.emit(job, (), f"internal error: {type(exc).__name__}: {exc}")
            return
        # One line each: what was done in words, then the figures (the status bar shows the words).
        self.done.emit(job, found, "\n".join(line.removeprefix("segment 1: ") for line in lines))

    def _semantic(self, info: ModelInfo, device: str, note: Callable[[str], None]) -> Callable[..., Any]:
        """Points by a diffusion model's features (DIFT); the model is loaded once, here, on the
        device the window renders on."""
        from morphapp.core.device import resolve_device
        from morphapp.diffusion.features import semantic_align
        from morphapp.diffusion.model import DiffusionModel

        key = f"{info.name} on {device}"
        model = self._models.get(key)
        if model is None:
            self._models.clear()  # one at a time: each is gigabytes
            model = self._models[key] = DiffusionModel(info, resolve_device(device), note=note)
        return lambda a, b: semantic_align(model, a, b)


class AlignRunner(QObject):
    finished = Signal(object, object, str)  # tag, points per segment or None (cancelled), status text
    _post = Signal(int, object, object, object, object)
    _release = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread(self)
        self._thread.setObjectName("morphapp-align")
        self._worker = _AlignWorker()
        self._worker.moveToThread(self._thread)
        self._post.connect(self._worker.run)
        self._release.connect(self._worker.release)
        self._worker.done.connect(self._on_done)
        self._thread.start()
        self._job = 0
        self._tag: object = None
        self._cancel: CancelToken | None = None

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def start(
        self, keyframes: Sequence[Keyframe], settings: MorphSettings, tag: object = None,
        semantic_model: ModelInfo | None = None,
        device: str = "auto",
    ) -> None:  # fmt: skip
        """Align ``keyframes`` (a new job replaces a running one); ``tag`` comes back with the result.
        ``semantic_model``: a diffusion model whose features pair points too (``--align-model``),
        loaded on ``device``."""
        self.cancel()
        self._job += 1
        self._tag = tag
        self._cancel = CancelToken()
        semantic = None if semantic_model is None else (semantic_model, device)
        self._post.emit(self._job, tuple(keyframes), settings, self._cancel, semantic)

    def release_models(self) -> None:
        """Free a diffusion model loaded for semantic points (after the running job, if any)."""
        self._release.emit()

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()
            self._cancel = None
            self.finished.emit(self._tag, None, "Auto-align cancelled.")

    def stop(self) -> None:
        self.cancel()
        self._thread.quit()
        self._thread.wait(30_000)

    def _on_done(self, job: int, found: object, text: str) -> None:
        if job != self._job or self._cancel is None:
            return  # cancelled or replaced: the artist has moved on
        self._cancel = None
        self.finished.emit(self._tag, found, text)
