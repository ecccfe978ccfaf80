"""Engine errors in the window's words.

The engine names a setting by its command-line flag (``--fps -1: must be above 0``), which is how
the CLI shows it. The window names the field that sets it instead ("FPS -1: must be above 0"):
one table from flag to field, so that both faces report the same setting, each in its own terms.
Flags with no field in the window (``--workers``, ``--align-model``) stay as they are.
"""

from __future__ import annotations

import re

FIELD_FOR_FLAG: dict[str, str] = {
    "--size": "Size",
    "--fit": "Fit",
    "--background": "Background",
    "--fps": "FPS",
    "--frames": "Total frames",
    "--segment-frames": "Frames in segment",
    "--hold": "Hold keyframes",
    "--loop": "Loop",
    "--path": "Path",
    "--ease": "Easing",
    "--seed": "Seed",
    "--model": "Model",
    "--device": "Device",
    "--dtype": "Device",
    "--steps": "Steps",
    "--guidance": "Guidance",
    "--strength": "Strength",
    "--attn-steps": "Attention",
    "--method": "Method",
    "--pacing": "Even pacing",
    "--points": "Points",
    "--align": "Align",
    "--audio": "Music",
    "--embed-project": "Embed the project",
}

# Whole phrases that name a choice the window offers in its own way (the export dialog's presets).
PHRASE_FOR_FLAGS: dict[str, str] = {
    "--format gif-web": "the preset “GIF for the web”",
}

_FLAG = re.compile(r"--[a-z][a-z0-9-]*")


def in_window_terms(message: str) -> str:
    """``message`` with each command-line flag that has a field in the window named as that field."""
    for phrase, words in PHRASE_FOR_FLAGS.items():
        message = message.replace(phrase, words)
    return _FLAG.sub(lambda m: FIELD_FOR_FLAG.get(m.group(0), m.group(0)), message)
