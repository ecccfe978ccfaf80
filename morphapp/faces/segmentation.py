"""The person's outline: MediaPipe's selfie segmentation (256 x 256 in, a 0..1 mask out).

Used to move hair, head and shoulders with the face: the mask's boundary, read along rays from
the face centre, gives outline points that pair up between two portraits.
"""

from __future__ import annotations

import cv2
import numpy as np

from morphapp.faces import runtime


def person_mask(pixels: np.ndarray) -> np.ndarray:
    """(H, W) float32 in 0..1: how surely each pixel belongs to a person."""
    net = runtime.model("segment")
    side_h, side_w = net.input_size
    height, width = pixels.shape[:2]
    small = cv2.resize(pixels, (side_w, side_h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    (mask,) = [o for o in net.run(small) if o.ndim == 4]
    return cv2.resize(mask[0, :, :, 0].astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def outline_along_rays(
    mask: np.ndarray, centre: tuple[float, float], angles: np.ndarray, start: float, threshold: float = 0.5
) -> list[tuple[float, float] | None]:
    """For each angle (radians, 0 = right, pi/2 = down), the last person pixel along a ray from
    ``centre``, beginning ``start`` pixels out; None where the ray leaves the image still inside the
    person (the outline is off-frame there) or finds no person at all."""
    height, width = mask.shape
    inside = mask >= threshold
    reach = float(np.hypot(height, width))
    steps = np.arange(start, reach, 1.0)
    out: list[tuple[float, float] | None] = []
    for angle in angles:
        xs = centre[0] + np.cos(angle) * steps
        ys = centre[1] + np.sin(angle) * steps
        within = (xs >= 0) & (xs <= width - 1) & (ys >= 0) & (ys <= height - 1)
        if not within.any():
            out.append(None)
            continue
        last = int(np.nonzero(within)[0][-1])
        xs, ys = xs[: last + 1], ys[: last + 1]
        hits = inside[np.round(ys).astype(int), np.round(xs).astype(int)]
        if not hits.any() or hits[-1]:
            out.append(None)  # no person, or the person runs off the frame along this ray
            continue
        # The first change from person to background, walking outwards.
        changes = np.nonzero(hits[:-1] & ~hits[1:])[0]
        index = int(changes[0]) if len(changes) else int(np.nonzero(hits)[0][-1])
        out.append((float(xs[index]), float(ys[index])))
    return out
