"""Keyframes to frames: codec protocol, interpolation, the render loop, warped in-betweens, caches."""
