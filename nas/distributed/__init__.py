"""Ray at the edge: executors, cluster start-up, Tune search trials and Ray Train retraining.

Importing this package does not import Ray; each module imports it inside the functions that need it, so
``import nas`` (and the local code paths) work and stay fast without a cluster.
"""
from __future__ import annotations

from nas.distributed.executor import Executor, LocalExecutor, RayExecutor, ShardedScorer

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "ShardedScorer"]
