"""The face path of auto-align: MediaPipe face mesh landmarks and the person outline as points.

Both keyframes must show a face (``morphapp.faces``); the points are the mesh landmarks and
outline rays of ``faces.correspond``. The warp they make is checked like every other path: no
fold at any t (else it is tried again without the outline points, then given up), and the guard
the landmarks' confidence (``MIN_FACE_CONFIDENCE``). The structural similarity the feature path
is judged by is reported for the face region but not required: it follows shading as much as
geometry, and between two people it can drop for a warp that plainly lines the faces up.
"""

from __future__ import annotations

import numpy as np

from morphapp.core.align.guard import (
    ALIGNED_DB,
    JUDGE_SIDE,
    AlignResult,
    min_jacobian,
    no_warp,
    pull_b,
    resize,
    similarity,
)

MIN_FACE_CONFIDENCE = 0.5  # detection score x mesh presence of the weaker face
# Faces change shape for real (a mouth closes, a wide face narrows): strong local compression is
# the morph itself, so only a near-fold is refused here (the feature path's limit is 0.25).
FACE_MIN_JACOBIAN = 0.1


def face_region(faces: list, judge_shape: tuple[int, int], frame_shape: tuple[int, int]) -> np.ndarray:
    """A mask (judge-image size) of the faces: each mesh's convex hull."""
    import cv2

    mask = np.zeros(judge_shape, dtype=np.uint8)
    scale = np.array([judge_shape[1] / frame_shape[1], judge_shape[0] / frame_shape[0]])
    for face in faces:
        hull = cv2.convexHull((face.points * scale).astype(np.float32)).astype(np.int32)
        cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def face_align(pixels_a: np.ndarray, pixels_b: np.ndarray) -> AlignResult:
    """Face correspondences between two fitted keyframes (H x W x 3 uint8, same size), or no warp."""
    from morphapp.faces import runtime
    from morphapp.faces.correspond import face_points, find_meshes

    judge_a, judge_b = resize(pixels_a, JUDGE_SIDE), resize(pixels_b, JUDGE_SIDE)
    before = similarity(judge_a, judge_b)
    if before >= ALIGNED_DB:
        return no_warp(f"the keyframes already line up ({before:.0f} dB)", before)
    usable, why = runtime.available()
    if not usable:
        return no_warp(f"faces: {why}", before)
    faces_a, faces_b = find_meshes(pixels_a), find_meshes(pixels_b)
    if not faces_a or not faces_b:
        where = (
            "no face in either keyframe"
            if not faces_a and not faces_b
            else f"a face in keyframe {'b' if not faces_a else 'a'} only"
        )
        return no_warp(f"faces: {where}", before)

    def unfolded(points: tuple) -> bool:
        return min_jacobian(points) >= FACE_MIN_JACOBIAN

    match = face_points(pixels_a, pixels_b, faces_a, faces_b, keep_point=unfolded)
    if match is None or len(match.points) < 4:
        return no_warp("faces: too few landmarks inside both frames", before)
    if min_jacobian(match.points) < FACE_MIN_JACOBIAN:
        return no_warp("faces: the landmark warp would fold the image over itself", before)
    # Reported, not required: on a's faces only (hair and backgrounds never line up), and even there
    # two people's shading differs more than their geometry (Musk -> Feifei: a right warp, 14.8 ->
    # 12.6 dB). What keeps this path from harm is the mesh's own confidence and the fold check.
    region = face_region(faces_a, judge_a.shape[:2], pixels_a.shape[:2])
    before = similarity(judge_a, judge_b, region)
    after = similarity(judge_a, pull_b(judge_b, match.points), region)
    if match.confidence < MIN_FACE_CONFIDENCE:
        return no_warp(
            f"faces: landmark confidence {match.confidence:.2f} < {MIN_FACE_CONFIDENCE}", before, after=after
        )
    return AlignResult(
        match.points, "faces", 0, match.confidence, before, after, needed_db=float("-inf"),
        detail=match.describe(),
    )  # fmt: skip


def face_mesh_points(path: str, analysis_side: int = 512) -> list[np.ndarray]:
    """Every face's 468 mesh points in ``path`` (EXIF applied), normalised 0..1 to the source image:
    what the point editor draws as an overlay. Empty when faces cannot be found here."""
    import cv2

    from morphapp.core.imaging.decode import open_image
    from morphapp.faces import runtime
    from morphapp.faces.correspond import find_meshes

    if not runtime.available()[0]:
        return []
    image, _notes = open_image(path)
    pixels = np.asarray(image.convert("RGB"))
    height, width = pixels.shape[:2]
    scale = min(1.0, analysis_side / max(height, width))
    if scale < 1.0:
        pixels = cv2.resize(
            pixels, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
    size = np.array([pixels.shape[1], pixels.shape[0]], dtype=np.float64)
    return [mesh.points / size for mesh in find_meshes(pixels)]
