"""The morph engine: images, keyframes, paths and easing, the render loop, project files.

Never imports Qt (an import-linter contract in pyproject.toml enforces it).
"""
