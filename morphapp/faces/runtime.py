"""Run the bundled MediaPipe ``.tflite`` models with LiteRT (``ai-edge-litert``), one interpreter each.

The models ship in ``morphapp/faces/models`` (Apache-2.0, ``LICENSE-mediapipe`` beside them; taken
from the mediapipe 0.10.21 wheel). LiteRT is the maintained TensorFlow Lite runtime, with wheels
for Linux, Windows and macOS (arm64); it runs the landmark model in about 1 ms per crop on a
2-core CPU. Where it is not installed, faces are simply unavailable (``FacesUnavailable``) and
auto-align falls back to its feature path, saying why.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from morphapp.errors import ModelError

MODEL_DIR = Path(__file__).resolve().parent / "models"
MODEL_FILES = {
    "detect_short": "face_detection_short_range.tflite",
    "detect_full": "face_detection_full_range_sparse.tflite",
    "mesh": "face_landmark.tflite",
    "segment": "selfie_segmentation.tflite",
    # The body (pose.py): NOT shipped -- measured, they did not earn their 9.4 MB for auto-align
    # (bench/README.md, issue 22); without them here, pose.py raises FacesUnavailable.
    "pose_detect": "pose_detection.tflite",
    "pose_landmarks": "pose_landmark_full.tflite",
}


class FacesUnavailable(ModelError):
    """The face models cannot run here (no LiteRT, or a model file missing or damaged)."""


class TfliteModel:
    """One interpreter; ``run`` is serialised (LiteRT interpreters are not thread-safe)."""

    def __init__(self, path: Path) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise FacesUnavailable(
                "face detection needs LiteRT: pip install ai-edge-litert (not available for this platform?)"
            ) from exc
        if not path.is_file():
            raise FacesUnavailable(f"{path}: MediaPipe model missing (reinstall morphapp)")
        threads = max(1, min(2, os.cpu_count() or 1))
        try:
            with _quiet_native_stderr():  # LiteRT prints "INFO: Created ... delegate" on every load
                self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
                self._interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise FacesUnavailable(f"{path}: cannot load the MediaPipe model, damaged? ({exc})") from exc
        self._input = self._interpreter.get_input_details()[0]
        self._outputs = self._interpreter.get_output_details()
        self._lock = threading.Lock()

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) the model takes."""
        shape = self._input["shape"]
        return int(shape[1]), int(shape[2])

    def run(self, image: np.ndarray) -> list[np.ndarray]:
        """``image``: (H, W, 3) float32 at the input size; the outputs, in the model's order."""
        batch = np.ascontiguousarray(image[None], dtype=np.float32)
        with self._lock:
            self._interpreter.set_tensor(self._input["index"], batch)
            self._interpreter.invoke()
            return [np.array(self._interpreter.get_tensor(d["index"])) for d in self._outputs]


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence what native code writes to file descriptor 2 (Python's own stderr is unaffected)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_models: dict[str, TfliteModel] = {}
_models_lock = threading.Lock()


def model(name: str) -> TfliteModel:
    """The loaded model ``name`` (a key of ``MODEL_FILES``), loaded once per process."""
    with _models_lock:
        loaded = _models.get(name)
        if loaded is None:
            loaded = _models[name] = TfliteModel(MODEL_DIR / MODEL_FILES[name])
        return loaded


def available() -> tuple[bool, str]:
    """Whether faces can be found here, and why not."""
    try:
        model("detect_short")
    except FacesUnavailable as exc:
        return False, str(exc)
    return True, ""


def outputs_by_size(outputs: list[np.ndarray]) -> dict[int, Any]:
    """Outputs keyed by their last dimension (the models name them differently between versions)."""
    return {int(o.shape[-1]): o for o in outputs}


def model_crop(pixels: np.ndarray, to_image: np.ndarray, side: int) -> np.ndarray:
    """The ``side`` x ``side`` input of a landmark model (float32, 0..1): ``pixels`` seen through the
    crop whose pixels ``to_image`` (2 x 3 affine) maps into the image; black outside the picture."""
    import cv2

    to_crop = cv2.invertAffineTransform(to_image)
    crop = cv2.warpAffine(
        pixels, to_crop, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return crop.astype(np.float32) / 255.0
