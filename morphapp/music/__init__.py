"""Music for morphs: beat detection, and the timing that puts every keyframe on a beat."""
