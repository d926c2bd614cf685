"""Stage 2, files: YAML loading with positions and limits, emitting, schemas, atomic file sets.

May import: core."""
