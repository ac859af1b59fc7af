"""A real multi-node Ray cluster on this machine for the tests: nodes bound to 127.0.0.1, added and removed at will.

A test module uses the ``multinode`` fixture by importing it from here.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable

import pytest


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The process that owns a LocalCluster's nodes. It answers each command line on stdin ("add CPUS", "remove NODE_ID")
# with one line, and removes every node when stdin closes (also when the test process dies).
CLUSTER_PROCESS = r"""
import json, sys
from ray.cluster_utils import Cluster

spec = json.loads(sys.argv[1])
cluster = Cluster(initialize_head=True, head_node_args={**spec["node"], **spec["head"]})
nodes = {cluster.head_node.node_id: cluster.head_node}
print("NASCLU", json.dumps({"address": cluster.address, "node": cluster.head_node.node_id}), flush=True)
for line in sys.stdin:
    verb, value = line.split()
    if verb == "add":
        node = cluster.add_node(**{**spec["node"], "num_cpus": int(value)})
        nodes[node.node_id] = node
    else:
        node = nodes.pop(value)
        cluster.remove_node(node, allow_graceful=False)
    print("NASCLU", json.dumps({"node": node.node_id}), flush=True)
for node in list(cluster.worker_nodes):
    cluster.remove_node(node, allow_graceful=False)
cluster.remove_node(cluster.head_node, allow_graceful=False)
"""


class LocalCluster:
    """A multi-node Ray cluster on this machine, every node bound to 127.0.0.1 (``ray.cluster_utils.Cluster``).

    Each node is its own raylet with its own worker processes, so removing one kills what ran there exactly as
    losing a machine would (only the file system stays shared, as a cluster's shared storage would). The nodes
    belong to a process of their own: a Ray GCS client left in the test process would end that process a minute
    after the cluster's head is gone.
    """

    def __init__(self, temp: str, head_cpus: int, dashboard: bool = False):
        node = dict(node_ip_address="127.0.0.1", temp_dir=temp, include_dashboard=False,
                    object_store_memory=80 * 1024 * 1024)
        head = dict(num_cpus=head_cpus)
        if dashboard:
            head.update(include_dashboard=True, dashboard_host="127.0.0.1", dashboard_port=_free_port())
        self._log = open(os.path.join(temp, f"cluster-{time.time_ns()}.log"), "w")
        self._proc = subprocess.Popen([sys.executable, "-c", CLUSTER_PROCESS, json.dumps({"node": node, "head": head})],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True)
        self._lock = threading.Lock()
        first = self._reply()
        self.address, self.head = first["address"], first["node"]
        self.dashboard_url = f"http://127.0.0.1:{head['dashboard_port']}" if dashboard else None

    def _reply(self) -> dict:
        for line in self._proc.stdout:
            if line.startswith("NASCLU "):
                return json.loads(line.split(" ", 1)[1])
        self._log.flush()
        raise RuntimeError(f"the cluster process ended: {open(self._log.name).read()[-2000:]}")

    def _ask(self, command: str) -> str:
        with self._lock:
            self._proc.stdin.write(command + "\n")
            self._proc.stdin.flush()
            return self._reply()["node"]

    def add(self, cpus: int = 1) -> str:
        """Start one more node with ``cpus`` CPUs; return its Ray node id."""
        return self._ask(f"add {cpus}")

    def remove(self, node: str) -> None:
        """Take node ``node`` away: its raylet and every worker process on it end at once."""
        self._ask(f"remove {node}")

    def remove_when(self, node: str, ready: Callable[[], Any], timeout: float = 300.0) -> dict:
        """Start a thread that removes ``node`` once ``ready()`` returns something truthy; return its record."""
        state: dict = {}

        def watch():
            end = time.time() + timeout
            while time.time() < end:
                found = ready()
                if found:
                    self.remove(node)
                    state.update(removed=node, at=found)
                    return
                time.sleep(0.05)

        threading.Thread(target=watch, daemon=True).start()
        return state

    def shutdown(self) -> None:
        """Remove every node (the cluster process does so when its stdin closes)."""
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._log.close()


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
