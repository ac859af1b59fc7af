"""Datasets: the embedded procedural sets, ImageNet-style folders and video lists."""
