"""Starting weights of a standalone model, as the public ``nas.weights``: the functions live in ``nas.train.weights``."""
from nas.train.weights import FRESH, apply_init, checkpoint_state, export_weights, load_fitting, supernet_state

__all__ = ["apply_init", "export_weights", "supernet_state", "checkpoint_state", "load_fitting", "FRESH"]
