"""Torch parts shared by the spaces: the supernet contract, elastic layers, mixed ops and relaxations, init."""
