"""The body around a face: MediaPipe's pose detector, then its 33-point pose landmarker and person mask.

As MediaPipe's pose graph does: the detector (224 x 224, letterboxed, values in [-1, 1]; 2254 SSD
anchors on strides 8, 16 and 32) finds a person as a box and four key points -- hip centre, a
point whose distance from it sizes the whole body, shoulder centre, and one sizing the upper
body. The landmarker then sees a square 2.5 times the hip-to-sizing distance, centred on the hip
centre and turned so that the body stands upright (256 x 256, values 0..1), and returns 33
landmarks with visibility and presence logits and a 256 x 256 mask of the person in that square.
In a head-and-shoulders portrait the hips lie below the frame: the detector places them there all
the same, and the square reaches past the frame (zeros), as MediaPipe's own crop does.

What it offers beside the face mesh: ears, shoulders and a second person mask. Measured for
auto-align (issue 22) it did not improve the hand-point gain: the ears sit too far from the mesh's
oval to pair beside it, portrait shoulders are cut by the frame, and its mask adds nothing to the
selfie mask's outline there (bench/README.md). The models are not shipped (``runtime``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from morphapp.faces import runtime
from morphapp.faces.detection import DetectorSpec, anchors, letterbox, weighted_nms
from morphapp.faces.runtime import model_crop

DETECTOR = DetectorSpec("pose_detect", 224, (8, 16, 32, 32, 32), 2, 0.5)
ROI_SCALE = 1.25  # MediaPipe's pose ROI: twice the hip-to-sizing distance, times 1.25
# The landmarker sees a tighter square than MediaPipe's, centred on the shoulders: in a portrait the
# full-body square is 5-6 frames wide, the head ~20 of its 256 px, and the landmarks land 23 px (mean,
# 512 px frames) off the face mesh's eyes, nose and mouth; at 0.7 of it around the shoulder centre,
# 14 px (measured on the five tuning portraits; 0.5: 18, 1.0 on the shoulders: 25).
UPPER_BODY_SHARE = 0.7
# Landmark indices (MediaPipe's BlazePose topology; "left" is the subject's left, the image's right).
NOSE = 0
EAR_LEFT, EAR_RIGHT = 7, 8
SHOULDER_LEFT, SHOULDER_RIGHT = 11, 12
EARS = (EAR_LEFT, EAR_RIGHT)
SHOULDERS = (SHOULDER_LEFT, SHOULDER_RIGHT)
LANDMARKS = 33  # the model returns 39: the last six are its own tracking aids


@dataclass(frozen=True)
class PoseDetection:
    """A person in image pixels: box (x0, y0, x1, y1), four key points (4, 2), score."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float


@dataclass(frozen=True)
class Pose:
    """One person: 33 landmarks (33, 2) in image pixels, their visibility and presence (0..1), the
    person mask (H, W) float32 0..1 over the whole image, and the detection it came from."""

    points: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    mask: np.ndarray
    detection: PoseDetection

    def seen(self, index: int, least: float = 0.5) -> bool:
        """Whether landmark ``index`` is both in the picture and not hidden, by the model's account."""
        return bool(min(self.visibility[index], self.presence[index]) >= least)


def detect_people(pixels: np.ndarray) -> list[PoseDetection]:
    """People in an (H, W, 3) uint8 image, highest score first."""
    net = runtime.model(DETECTOR.model)
    canvas, scale, off_x, off_y = letterbox(pixels, DETECTOR.side)
    by_size = runtime.outputs_by_size(net.run(canvas))
    raw, logits = by_size[12][0].astype(np.float64), by_size[1][0, :, 0].astype(np.float64)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -100.0, 100.0)))
    keep = scores >= DETECTOR.min_score
    if not keep.any():
        return []
    grid = anchors(DETECTOR)[keep] * DETECTOR.side
    raw, scores = raw[keep], scores[keep]
    centre = grid + raw[:, 0:2]
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = grid[:, None, :] + raw[:, 4:12].reshape(-1, 4, 2)
    found = []
    for box, points, score in weighted_nms(boxes, keypoints, scores):
        box = (box - [off_x, off_y, off_x, off_y]) / scale
        points = (points - [off_x, off_y]) / scale
        found.append(
            PoseDetection((float(box[0]), float(box[1]), float(box[2]), float(box[3])), points, score)
        )
    return found


def crop_matrix(detection: PoseDetection, side: int) -> np.ndarray:
    """2 x 3 affine from crop pixels (0..side) to image pixels: the square on the shoulder centre,
    upright (``UPPER_BODY_SHARE``)."""
    hips, sizing, shoulders = detection.keypoints[0], detection.keypoints[1], detection.keypoints[2]
    dx, dy = sizing - hips
    size = 2.0 * math.hypot(dx, dy) * ROI_SCALE * UPPER_BODY_SHARE
    angle = math.atan2(dx, -dy)  # turns the crop's "up" onto hips -> sizing point
    cos, sin = math.cos(angle) * size / side, math.sin(angle) * size / side
    cx, cy = shoulders
    return np.array(
        [[cos, -sin, cx - cos * side / 2 + sin * side / 2], [sin, cos, cy - sin * side / 2 - cos * side / 2]]
    )


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(values.astype(np.float64), -60.0, 60.0))))


def fit_pose(pixels: np.ndarray, detection: PoseDetection) -> Pose:
    """The 33 landmarks and the person mask of one detected person."""
    net = runtime.model("pose_landmarks")
    side = net.input_size[0]
    to_image = crop_matrix(detection, side)
    crop = model_crop(pixels, to_image, side)
    outputs = net.run(crop)
    (raw,) = [o for o in outputs if o.ndim == 2 and o.shape[-1] % 5 == 0 and o.shape[-1] > 100]
    (mask_logits,) = [o for o in outputs if o.ndim == 4 and o.shape[1:3] == (side, side)]
    landmarks = raw.reshape(-1, 5)[:LANDMARKS].astype(np.float64)
    homog = np.concatenate([landmarks[:, :2], np.ones((LANDMARKS, 1))], axis=1)
    height, width = pixels.shape[:2]
    mask = cv2.warpAffine(
        _sigmoid(mask_logits[0, :, :, 0].astype(np.float32)).astype(np.float32),
        to_image,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )
    return Pose(homog @ to_image.T, _sigmoid(landmarks[:, 3]), _sigmoid(landmarks[:, 4]), mask, detection)


def find_pose(pixels: np.ndarray) -> Pose | None:
    """The most likely person in an (H, W, 3) uint8 image, or None when the detector finds nobody."""
    people = detect_people(pixels)
    return fit_pose(pixels, people[0]) if people else None
