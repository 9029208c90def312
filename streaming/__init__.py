"""Live audio: ring buffer, sources, sliding-window worker and timeline events."""
