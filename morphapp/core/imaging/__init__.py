"""Pictures in and measured: opening and checking image files, fit, colour, edge strips, quality."""
