"""The desktop app: a thin PySide6 layer over the engine.

View models (QObject) hold the document and bridge to the engine; long work runs on one
engine thread that consumes the engine's frame generator. No engine logic lives here.
"""
