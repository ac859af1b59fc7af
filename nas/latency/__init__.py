"""Measured latency: timing a model, per-block lookup tables and the pure predictor built on them."""
