"""The st_topo search space (topology-augmented one-shot space after ST-NAS)."""
from search_spaces.st_topo.space import StTopoSpace

__all__ = ["StTopoSpace"]
