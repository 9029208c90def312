"""Textual terminal UI for ser-live."""
