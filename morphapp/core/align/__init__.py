"""Lining keyframes up: automatic points (faces, features, flow, camera, outlines), guard, warp fields."""
