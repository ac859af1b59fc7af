"""The search spaces shipped with nas, one sub-package each; ``nas`` finds them through their plugins only."""
