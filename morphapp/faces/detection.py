"""Face detection: MediaPipe's BlazeFace models, decoded as MediaPipe's own graphs configure them.

Short range (128 x 128 input, 896 SSD anchors on strides 8 and 16) finds faces that fill a good
part of the picture, as portraits do; full range (192 x 192, 2304 anchors on stride 4) finds small
and distant ones and is tried when the first finds nothing. The image is letterboxed to a square
(aspect kept), scaled to [-1, 1]; each anchor regresses a box and six key points (image-left eye,
image-right eye, nose tip, mouth, image-left ear, image-right ear -- the subject's right eye is
on the image's left), sigmoid scores, then weighted non-maximum suppression blends overlapping
boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from morphapp.faces import runtime

MIN_SUPPRESSION_IOU = 0.3


@dataclass(frozen=True)
class DetectorSpec:
    model: str
    side: int
    strides: tuple[int, ...]
    anchors_per_layer: int  # 2 with the interpolated-scale anchor, 1 without
    min_score: float


SHORT_RANGE = DetectorSpec("detect_short", 128, (8, 16, 16, 16), 2, 0.5)
FULL_RANGE = DetectorSpec("detect_full", 192, (4,), 1, 0.6)


@dataclass(frozen=True)
class Detection:
    """A face in image pixel coordinates: box (x0, y0, x1, y1), six key points (6, 2), score."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float

    @property
    def size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


@cache
def anchors(spec: DetectorSpec) -> np.ndarray:
    """(N, 2) anchor centres in 0..1; MediaPipe's SSD anchors with fixed (unit) anchor size."""
    centres: list[tuple[float, float]] = []
    layer = 0
    while layer < len(spec.strides):
        stride = spec.strides[layer]
        same = 0  # layers sharing a stride share their grid: their anchors go together per cell
        while layer < len(spec.strides) and spec.strides[layer] == stride:
            same += 1
            layer += 1
        cells = int(np.ceil(spec.side / stride))
        for y in range(cells):
            for x in range(cells):
                centre = ((x + 0.5) / cells, (y + 0.5) / cells)
                centres.extend([centre] * (same * spec.anchors_per_layer))
    return np.array(centres, dtype=np.float64)


def letterbox(pixels: np.ndarray, side: int) -> tuple[np.ndarray, float, float, float]:
    """The image centred on a square of ``side`` (zero border); scale and offsets back to the image."""
    height, width = pixels.shape[:2]
    scale = side / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = cv2.resize(pixels, (new_w, new_h), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((side, side, 3), dtype=np.float32)
    off_x, off_y = (side - new_w) // 2, (side - new_h) // 2
    canvas[off_y : off_y + new_h, off_x : off_x + new_w] = resized.astype(np.float32) / 127.5 - 1.0
    return canvas, scale, float(off_x), float(off_y)


def detect(pixels: np.ndarray, spec: DetectorSpec = SHORT_RANGE) -> list[Detection]:
    """Faces in an (H, W, 3) uint8 image, highest score first."""
    net = runtime.model(spec.model)
    canvas, scale, off_x, off_y = letterbox(pixels, spec.side)
    by_size = runtime.outputs_by_size(net.run(canvas))
    raw, logits = by_size[16][0].astype(np.float64), by_size[1][0, :, 0].astype(np.float64)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -100.0, 100.0)))
    keep = scores >= spec.min_score
    if not keep.any():
        return []
    grid = anchors(spec)[keep] * spec.side
    raw, scores = raw[keep], scores[keep]
    centre = grid + raw[:, 0:2]
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = grid[:, None, :] + raw[:, 4:16].reshape(-1, 6, 2)
    found = []
    for box, points, score in weighted_nms(boxes, keypoints, scores):
        # From the square input back to image pixels.
        box = (box - [off_x, off_y, off_x, off_y]) / scale
        points = (points - [off_x, off_y]) / scale
        found.append(Detection((float(box[0]), float(box[1]), float(box[2]), float(box[3])), points, score))
    return found


def detect_faces(pixels: np.ndarray) -> list[Detection]:
    """Short range first (portraits); full range when it finds nothing (small or distant faces)."""
    return detect(pixels, SHORT_RANGE) or detect(pixels, FULL_RANGE)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted NMS: each cluster's box and key points are its score-weighted mean."""
    order = np.argsort(-scores, kind="stable")
    remaining = list(order)
    out = []
    while remaining:
        top = remaining[0]
        overlaps = _iou(boxes[top], boxes[remaining])
        cluster = [remaining[i] for i in np.nonzero(overlaps > MIN_SUPPRESSION_IOU)[0]]
        weights = scores[cluster][:, None]
        box = (boxes[cluster] * weights).sum(0) / weights.sum()
        points = (keypoints[cluster] * weights[:, :, None]).sum(0) / weights.sum()
        out.append((box, points, float(scores[top])))
        remaining = [r for r in remaining if r not in set(cluster)]
    return out
