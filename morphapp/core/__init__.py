"""The morph engine below the backends, one package per job, each importing only those under it:

render (keyframes to frames) -> align (points and warp fields) -> domain (keyframes, settings, project)
-> timeline (when frames happen), imaging (pictures in and measured) -> cancel, atomic.

Never imports Qt (import-linter contracts in pyproject.toml enforce both).
"""
