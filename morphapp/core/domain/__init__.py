"""What a morph is: keyframes and their expressions, point pairs, settings, the project file."""
