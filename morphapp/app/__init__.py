"""The application layer: what the CLI and the window do with a project, not how they show it.

Both faces call these operations (export a project to a file, its music, ...) and differ only in
presentation: the CLI parses flags and prints, the window has widgets and signals. In the manner
of Anki's ``pylib`` operations under ``aqt``. Never imports Qt; imports torch only through the
engine it is handed.
"""
