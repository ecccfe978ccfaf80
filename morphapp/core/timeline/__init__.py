"""When each frame happens: easing, the frame plan over segments, even pacing, music timing."""
