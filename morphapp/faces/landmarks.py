"""The 468-point MediaPipe face mesh, fitted to each detected face.

As MediaPipe's face-mesh graph does: the detection becomes a square region 1.5 times the box,
centred on it and turned so that the eyes lie level; that region is cut out at 192 x 192
(values 0..1) and the landmark model returns 468 (x, y, z) points in the crop plus a face
presence score, which rejects detections that are not faces (a cat, a pattern).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from morphapp.faces import runtime
from morphapp.faces.detection import Detection
from morphapp.faces.runtime import model_crop

CROP_SCALE = 1.5
# The mesh's own "is this a face" score. Measured: the six test portraits, a face a tenth of the
# frame wide and one turned 40 degrees all have 1 - presence <= 3e-6; a dog the detector took for
# a face (realdog0, detection 0.58) 7e-3, a cat's face 0.39. Detection scores alone overlap
# (that small face 0.56, the dog 0.58).
MIN_PRESENCE = 0.9995


@dataclass(frozen=True)
class FaceMesh:
    """One face: 468 landmarks (468, 2) in image pixels, depth (468,), the detection, presence."""

    points: np.ndarray
    depth: np.ndarray
    detection: Detection
    presence: float

    @property
    def size(self) -> float:
        """The face's width (jaw to jaw), pixels: what distances on this face are measured against."""
        return float(np.linalg.norm(self.points[234] - self.points[454]))

    @property
    def yaw(self) -> float:
        """-1 .. 1: where the nose tip sits between the face's sides (0 frontal, +-1 fully turned)."""
        left, right, nose = self.points[234, 0], self.points[454, 0], self.points[1, 0]
        span = right - left
        if abs(span) < 1e-6:
            return 0.0
        return float(np.clip(2.0 * (nose - left) / span - 1.0, -1.0, 1.0))


def _roi(detection: Detection) -> tuple[float, float, float, float]:
    """(centre x, centre y, side, angle radians): the square region the mesh model sees."""
    cx, cy = detection.centre
    right_eye_img_left, left_eye_img_right = detection.keypoints[0], detection.keypoints[1]
    dx, dy = left_eye_img_right - right_eye_img_left
    angle = math.atan2(dy, dx)  # the eyes' tilt; the crop turns by it so they lie level
    return cx, cy, CROP_SCALE * detection.size, angle


def crop_matrix(detection: Detection, side: int) -> np.ndarray:
    """2 x 3 affine from crop pixels (0..side) to image pixels."""
    cx, cy, size, angle = _roi(detection)
    cos, sin = math.cos(angle) * size / side, math.sin(angle) * size / side
    # crop (u, v) -> centred, scaled, rotated, moved to the face centre
    return np.array(
        [[cos, -sin, cx - cos * side / 2 + sin * side / 2], [sin, cos, cy - sin * side / 2 - cos * side / 2]]
    )


def fit_mesh(pixels: np.ndarray, detection: Detection) -> FaceMesh | None:
    """The mesh of one detected face, or None when the mesh model says it is not a face."""
    net = runtime.model("mesh")
    side = net.input_size[0]
    to_image = crop_matrix(detection, side)
    crop = model_crop(pixels, to_image, side)
    by_size = runtime.outputs_by_size(net.run(crop))
    raw = by_size[1404].reshape(468, 3).astype(np.float64)
    presence = float(1.0 / (1.0 + math.exp(-float(np.clip(by_size[1].reshape(-1)[0], -100, 100)))))
    if presence < MIN_PRESENCE:
        return None
    homog = np.concatenate([raw[:, :2], np.ones((468, 1))], axis=1)
    points = homog @ to_image.T
    depth = raw[:, 2] * (detection.size * CROP_SCALE / side)
    return FaceMesh(points, depth, detection, presence)
