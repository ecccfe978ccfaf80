"""Point pairs between two portraits: face mesh landmarks, plus the head / hair / shoulder outline.

Faces are paired as follows: when either keyframe has one face, the largest face of each; when
both have several, left to right by position (the first with the first ...), as many pairs as
the smaller count. From each pair of meshes a well-spread subset of landmarks becomes point
pairs: jaw line, brows, eye corners and lids, nose, lips (``LANDMARKS``). On a face turned to
the side (``FaceMesh.yaw``) the far half's jaw, brow and eye points are dropped: the model
guesses them behind the nose. Around the face, the person's outline (selfie segmentation) is
read along ``OUTLINE_RAYS`` rays from between the eyes in both keyframes, turned with the eye
line; rays at the same angle pair up, so hair and shoulders move with the face. Each ray is kept
only where ``keep_point`` accepts the points so far with it (the face path refuses rays that
would fold the warp: long hair against short). Outline points close to the frame border are
left out, as are rays where the outline runs off-frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from morphapp.faces.detection import detect_faces
from morphapp.faces.landmarks import FaceMesh, fit_mesh
from morphapp.faces.segmentation import outline_along_rays, person_mask

PointPair = tuple[float, float, float, float]  # (xa, ya, xb, yb), as morphapp.core.domain.points
SegmentPoints = tuple[PointPair, ...]

# MediaPipe face-mesh indices (the subject's right side is the image's left).
JAW = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)  # fmt: skip  (the whole face oval)
BROWS = (70, 105, 107, 336, 334, 300)
EYES = (33, 133, 159, 145, 362, 263, 386, 374)
NOSE = (168, 6, 1, 2, 98, 327)
LIPS = (61, 291, 0, 17, 13, 14, 40, 270, 91, 321)
LANDMARKS = JAW + BROWS + EYES + NOSE + LIPS
SIDED = frozenset(JAW + BROWS + EYES)  # hidden on the far side of a turned face
# Points between landmarks: the mean of each group's mesh points (an eye's centre, the mouth's).
CENTRES = {
    "eye_image_left": (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
    "eye_image_right": (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
    "mouth": (61, 291, 0, 17),
}
TURNED_YAW = 0.35  # |yaw| beyond this: the far half's sided points are unreliable
OUTLINE_RAYS = 24
OUTLINE_START = 0.6  # rays start this many face widths out (outside the face itself)
BORDER_MARGIN = 0.03  # outline points nearer the frame border than this (of the side) are left out


@dataclass(frozen=True)
class FaceMatch:
    points: SegmentPoints  # normalised frame coordinates, a -> b
    faces_a: int
    faces_b: int
    landmark_pairs: int
    outline_pairs: int
    confidence: float  # 0..1: the weaker face's detection score x mesh presence
    pairing: str

    def describe(self) -> str:
        return (
            f"faces ({self.faces_a} / {self.faces_b} found, {self.pairing}): {self.landmark_pairs} "
            f"landmark and {self.outline_pairs} outline points"
        )


def find_meshes(pixels: np.ndarray) -> list[FaceMesh]:
    """Every face in an (H, W, 3) uint8 image with its mesh, largest first."""
    meshes = [m for m in (fit_mesh(pixels, d) for d in detect_faces(pixels)) if m is not None]
    return sorted(meshes, key=lambda m: -m.size)


def pair_faces(
    faces_a: Sequence[FaceMesh], faces_b: Sequence[FaceMesh]
) -> tuple[list[tuple[FaceMesh, FaceMesh]], str]:
    if not faces_a or not faces_b:
        return [], "none"
    if len(faces_a) == 1 or len(faces_b) == 1:
        return [(faces_a[0], faces_b[0])], "largest with largest"
    by_x_a = sorted(faces_a, key=lambda m: float(m.points[:, 0].mean()))
    by_x_b = sorted(faces_b, key=lambda m: float(m.points[:, 0].mean()))
    return list(zip(by_x_a, by_x_b, strict=False)), "left to right"


def _kept_landmarks(face: FaceMesh) -> set[int]:
    """The landmark subset minus the far half of a turned face."""
    kept = set(LANDMARKS)
    yaw = face.yaw
    if abs(yaw) <= TURNED_YAW:
        return kept
    nose_x = face.points[1, 0]
    for index in SIDED:
        x = face.points[index, 0]
        if (yaw > 0 and x > nose_x) or (yaw < 0 and x < nose_x):
            kept.discard(index)
    return kept


def _eye_centre(face: FaceMesh) -> tuple[float, float]:
    """Between the eyes: the rays' origin (the nose tip shifts with a turned head)."""
    left = face.points[list(CENTRES["eye_image_left"])].mean(0)
    right = face.points[list(CENTRES["eye_image_right"])].mean(0)
    return float((left[0] + right[0]) / 2), float((left[1] + right[1]) / 2)


def _tilt(face: FaceMesh) -> float:
    """The eye line's angle (radians): rays turn with the head, so "straight up" means the same."""
    left = face.points[list(CENTRES["eye_image_left"])].mean(0)
    right = face.points[list(CENTRES["eye_image_right"])].mean(0)
    return float(np.arctan2(right[1] - left[1], right[0] - left[0]))


def _near_border(xy: tuple[float, float], width: int, height: int) -> bool:
    x, y = xy[0] / width, xy[1] / height
    return min(x, y, 1 - x, 1 - y) < BORDER_MARGIN


def face_points(
    pixels_a: np.ndarray,
    pixels_b: np.ndarray,
    faces_a: Sequence[FaceMesh] | None = None,
    faces_b: Sequence[FaceMesh] | None = None,
    *,
    outline: bool = True,
    keep_point: Callable[[SegmentPoints], bool] | None = None,
) -> FaceMatch | None:
    """Point pairs between two fitted keyframes (same size) with faces; None when either has none."""
    faces_a = find_meshes(pixels_a) if faces_a is None else faces_a
    faces_b = find_meshes(pixels_b) if faces_b is None else faces_b
    pairs, pairing = pair_faces(faces_a, faces_b)
    if not pairs:
        return None
    height, width = pixels_a.shape[:2]
    out: list[PointPair] = []
    landmark_count = 0
    for face_a, face_b in pairs:
        for index in sorted(_kept_landmarks(face_a) & _kept_landmarks(face_b)):
            (xa, ya), (xb, yb) = face_a.points[index], face_b.points[index]
            out.append((xa / width, ya / height, xb / width, yb / height))
            landmark_count += 1
        for group in CENTRES.values():
            if set(group) <= _kept_landmarks(face_a) & _kept_landmarks(face_b):
                (xa, ya), (xb, yb) = face_a.points[list(group)].mean(0), face_b.points[list(group)].mean(0)
                out.append((xa / width, ya / height, xb / width, yb / height))
                landmark_count += 1
    outline_count = 0
    if outline and len(pairs) == 1:  # one person each: the outline belongs to that face
        face_a, face_b = pairs[0]
        angles = np.linspace(0.0, 2 * np.pi, OUTLINE_RAYS, endpoint=False)
        rays_a, rays_b = (
            outline_along_rays(
                person_mask(px), _eye_centre(face), angles + _tilt(face), OUTLINE_START * face.size
            )
            for px, face in ((pixels_a, face_a), (pixels_b, face_b))
        )
        for pa, pb in zip(rays_a, rays_b, strict=True):
            if pa is None or pb is None or _near_border(pa, width, height) or _near_border(pb, width, height):
                continue
            candidate = (pa[0] / width, pa[1] / height, pb[0] / width, pb[1] / height)
            # One ray at a time, kept only if the warp still does not fold: long hair against
            # short hair asks for moves the face cannot make.
            if keep_point is None or keep_point((*out, candidate)):
                out.append(candidate)
                outline_count += 1
    inside = tuple(p for p in out if all(0.0 <= v <= 1.0 for v in p))
    confidence = min(
        min(fa.detection.score * fa.presence, fb.detection.score * fb.presence) for fa, fb in pairs
    )
    return FaceMatch(
        inside, len(faces_a), len(faces_b), landmark_count, outline_count, float(confidence), pairing
    )
