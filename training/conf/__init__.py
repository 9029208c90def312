"""Hydra configuration for ser-train and ser-test."""
