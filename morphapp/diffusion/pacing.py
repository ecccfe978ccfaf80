"""Even pacing for diffusion morphs: the measures live in ``morphapp.core.timeline.pacing`` (autoencoder
morphs are paced with them too); this name stays for the diffusion backend's imports."""

from morphapp.core.timeline.pacing import DISTANCE_SIDE, even_positions, frame_distance, step_ratio, thumbnail

__all__ = ["DISTANCE_SIDE", "even_positions", "frame_distance", "step_ratio", "thumbnail"]
