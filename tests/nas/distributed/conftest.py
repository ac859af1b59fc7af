"""Fixtures shared by the distributed tests: one local Ray cluster per session."""
import os
import shutil
import tempfile
import threading
import time
from typing import Any, Callable

import pytest


@pytest.fixture(scope="session")
def ray_session():
    """One local 2-CPU Ray cluster for the distributed tests (no dashboard, auth off, short temp dir,
    worker logs kept in the session folder rather than forwarded to this process's stderr)."""
    ray = pytest.importorskip("ray")
    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled",
                      TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S="0")
    owned = not ray.is_initialized()
    temp = tempfile.mkdtemp(prefix="nasray-")
    if owned:
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, logging_level="warning",
                 log_to_driver=False)
    yield ray
    if owned and ray.is_initialized():
        ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    """A multi-node Ray cluster on this machine, every node bound to 127.0.0.1 (``ray.cluster_utils.Cluster``).

    Each node is its own raylet with its own worker processes, so removing one kills what ran there exactly as
    losing a machine would (only the file system stays shared, as a cluster's shared storage would).
    """

    def __init__(self, temp: str, head_cpus: int, dashboard: bool = False):
        from ray.cluster_utils import Cluster

        self._temp = temp
        head = self._args(head_cpus)
        if dashboard:
            head.update(include_dashboard=True, dashboard_host="127.0.0.1", dashboard_port=_free_port())
        self.cluster = Cluster(initialize_head=True, shutdown_at_exit=True, head_node_args=head)
        self.address = self.cluster.address
        self.head = self.cluster.head_node
        self.dashboard_url = f"http://127.0.0.1:{head['dashboard_port']}" if dashboard else None

    def _args(self, cpus: int) -> dict:
        return dict(num_cpus=cpus, node_ip_address="127.0.0.1", temp_dir=self._temp, include_dashboard=False,
                    object_store_memory=80 * 1024 * 1024)

    def add(self, cpus: int = 1):
        """Start one more node with ``cpus`` CPUs and return it (``node.node_id`` is its Ray node id)."""
        return self.cluster.add_node(**self._args(cpus))

    def remove(self, node) -> None:
        """Take ``node`` away: its raylet and every worker process on it end at once."""
        self.cluster.remove_node(node, allow_graceful=False)

    def remove_when(self, node, ready: Callable[[], Any], timeout: float = 300.0) -> dict:
        """Start a thread that removes ``node`` once ``ready()`` returns something truthy; return its record."""
        state: dict = {}

        def watch():
            end = time.time() + timeout
            while time.time() < end:
                found = ready()
                if found:
                    self.remove(node)
                    state.update(removed=node.node_id, at=found)
                    return
                time.sleep(0.05)

        threading.Thread(target=watch, daemon=True).start()
        return state

    def shutdown(self) -> None:
        """Remove every node. Not ``Cluster.shutdown()``: it also resets this process's Ray state, which the
        session's cluster (``ray_session``) still uses."""
        for node in list(self.cluster.worker_nodes):
            self.remove(node)
        self.remove(self.cluster.head_node)


@pytest.fixture
def multinode(monkeypatch):
    """Return a factory of :class:`LocalCluster` (head CPUs, dashboard); each cluster it starts is shut down after.

    Auth is off and ``RAY_TMPDIR`` points at the test's own temp folder, where ``Cluster`` records the cluster's
    address (by default ``/tmp/ray/ray_current_cluster``, which a bare ``ray.init()`` elsewhere would join).
    """
    pytest.importorskip("ray")
    temp = tempfile.mkdtemp(prefix="nasclu-")  # short: Ray's socket paths are length-limited
    os.mkdir(os.path.join(temp, "ray"))  # where Cluster writes the address under RAY_TMPDIR
    for key, value in dict(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0", RAY_TMPDIR=temp,
                           OMP_NUM_THREADS="1", TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S="0").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    started = []

    def start(head_cpus: int = 1, dashboard: bool = False) -> LocalCluster:
        started.append(LocalCluster(temp, head_cpus, dashboard))
        return started[-1]

    yield start
    for c in started:
        c.shutdown()
    shutil.rmtree(temp, ignore_errors=True)
