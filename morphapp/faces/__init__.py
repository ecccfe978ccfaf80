"""Faces in keyframes: MediaPipe face detection, the 468-point face mesh and selfie segmentation,
run with LiteRT on the bundled models (``models/``, Apache-2.0), turned into point pairs for
``--align faces`` (``correspond.face_points``). No Qt, and nothing else of morphapp's engine:
``morphapp.core.align.faces`` is the layer that uses it.
"""
