"""Start a local Ray cluster (dashboard on 127.0.0.1, per-run auth token) or join one with ``--address``."""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import tempfile
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from nas.errors import NasError

__all__ = ["ClusterInfo", "ray_cluster", "check_address", "check_shared", "mark_driver", "run_job_name", "ray_env",
           "quiet_ray_logs", "DASHBOARD_HELP"]

DASHBOARD_PORT = 8265  # Ray's default; the next free port is used when it is taken
CONNECT_TIMEOUT_S = 3.0  # how long --address may take to answer before it is reported as unreachable
JOIN_RETRIES = 5  # GCS handshake attempts (about one a second) when joining --address
DASHBOARD_HELP = ("Ray 2.60 protects the dashboard with a token. nas generates one per run and prints it; "
                  "to opt out on a trusted single-user machine, run with RAY_AUTH_MODE=disabled.")


@dataclass(frozen=True)
class ClusterInfo:
    """What a started or joined cluster looks like to the caller."""

    address: str  # GCS address of the cluster
    cpus: float  # total CPUs the cluster reports
    gpus: float  # total GPUs the cluster reports
    dashboard_url: Optional[str] = None  # http://127.0.0.1:<port> when --dashboard started one
    token: Optional[str] = None  # the auth token in use, None when auth is disabled


def ray_env() -> None:
    """Set the environment Ray reads at start-up: no usage stats, quiet Tune checkpoint warnings."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the classic, compact trial status table


def _auth_token() -> Optional[str]:
    """Return the token the cluster will use, generating a per-run one (never written to ~/.ray)."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return None
    if not os.environ.get("RAY_AUTH_TOKEN"):
        # Without a token in the environment Ray 2.60 generates one and saves it to ~/.ray/auth_token.
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    return os.environ["RAY_AUTH_TOKEN"]


def check_address(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise a one-line NasError unless something accepts TCP connections at ``address`` (host:port)."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise NasError(f"--address {address}: expected HOST:PORT (e.g. 10.0.0.5:6379) or ray://HOST:PORT")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise NasError(f"--address {address}: no Ray cluster answers there ({reason}); start one with "
                       f"`ray start --head` or drop --address to start a local cluster") from None


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _outward_ip() -> Optional[str]:
    """Return the IP other hosts reach this machine at (how Ray picks a node's IP); None without a route."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("8.8.8.8", 80))  # UDP: only picks the route, sends nothing
            return s.getsockname()[0]
    except OSError:
        return None


def _keep_loopback(address: str) -> None:
    """Let a driver join a head that listens on 127.0.0.1 only (``ray start --head --node-ip-address 127.0.0.1``).

    Ray replaces a loopback host in an address by the machine's IP (ray-project/ray#59110), where such a head does
    not answer. When that is the case, Ray's switch for single-machine nodes (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0,
    read when Ray is imported) keeps this driver's node IP, and so the address, on 127.0.0.1.
    """
    import sys

    host, _, port = address.split("://", 1)[-1].rpartition(":")
    ip = _outward_ip()
    if host not in LOOPBACK or "ray" in sys.modules or not ip or ip.startswith("127.") or not port.isdigit():
        return
    try:
        socket.create_connection((ip, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def check_shared(path) -> None:
    """Raise a one-line NasError unless ``path``, which the driver wrote before Ray placed this process, is here.

    Trials and DDP workers write their run folders wherever Ray places them, so a node that does not mount the
    driver's storage at the same path would run without anyone reading its results.
    """
    import pathlib

    path = pathlib.Path(path)
    if not path.is_file():
        raise NasError(f"{path.parent} is not visible on node {socket.gethostname()}: run folders must be on "
                       f"storage that every node of the cluster mounts at the same path")


def mark_driver(folder) -> str:
    """Write ``folder/driver.json`` (this host and process), for :func:`check_shared` on other nodes; return it."""
    import json
    import pathlib

    path = pathlib.Path(folder) / "driver.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}) + "\n")
    return str(path)


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return s.getsockname()[1]
            except OSError:
                continue
    return preferred


def _check_dashboard_deps() -> None:
    from nas.utils.extras import require

    require("aiohttp", "aiohttp_cors", purpose="--dashboard (the Ray dashboard)")


def _temp_dir() -> str:
    # Ray's unix sockets need a short path; one folder per cluster avoids clashes with other users' sessions.
    base = os.environ.get("NAS_RAY_TMPDIR") or tempfile.gettempdir()
    return tempfile.mkdtemp(prefix="nasray-", dir=base)


JOB_NAME_CHARS = 100  # a job name longer than this keeps its end, where a path's distinctive part is


def run_job_name(command: str, out) -> str:
    """Return the dashboard name of the Ray job of ``command`` writing run folder ``out``: the folder's full path.

    Two runs never share a folder, so two drivers on one cluster get different names even when their folders
    have the same last component (``a/exp`` and ``b/exp``).
    """
    import pathlib

    name = f"{command} {pathlib.Path(out).resolve()}"
    return name if len(name) <= JOB_NAME_CHARS else "..." + name[-(JOB_NAME_CHARS - 3):]


def _job_config(job_name: Optional[str]):
    """Return the JobConfig naming the driver's job in the dashboard's Jobs table (None: Ray's default)."""
    if not job_name:
        return None
    from ray.job_config import JobConfig

    return JobConfig(metadata={"job_name": str(job_name)})


HOOK = "nas.distributed.cluster.quiet_ray_logs"  # the local cluster's worker-process setup hook


def quiet_ray_logs() -> None:
    """Silence Ray 2.60's log lines that tell a user nothing, in the process that would print them.

    Run in every worker process of our local cluster (its setup hook) and at the start of our own trial and
    DDP-worker functions (so that a cluster given by ``--address`` is covered too). Quieted:

    - the placement-group cleaner's warning, once a second: it polls the State API, which lives in the dashboard,
      so without ``--dashboard`` every poll fails. It only matters when a train controller dies, and our local
      cluster ends with the run;
    - "Checkpoint successfully created at ..." after every Tune report (a search reports every round);
    - Ray Train's dump of each report's metrics, once per rank per epoch (rank 0's epoch line says the same).
      That logger is named after its file, not its module.
    """
    import logging
    import os

    import ray

    levels = {"ray.train.v2._internal.execution.controller.placement_group_cleaner": logging.ERROR,
              "ray.train._internal.storage": logging.WARNING,
              "ray.train.v2._internal.execution.storage": logging.WARNING,
              os.path.join(os.path.dirname(ray.__file__), "train", "v2", "_internal", "execution", "context.py"):
                  logging.WARNING}
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _init_local(cpus: Optional[int], gpus: Optional[int], dashboard: bool, host: str, temp: str,
                job_name: Optional[str] = None) -> dict:
    import ray

    # Progress bars from many workers garble the driver's log (their log lines still come through).
    # Ray Train's preemption watcher (one more actor process per run) watches for cloud nodes being reclaimed;
    # a local cluster has none, and the watcher logs a C++ error line at every start.
    env = {"TQDM_DISABLE": "1", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0"}
    kwargs = dict(num_cpus=cpus, num_gpus=gpus, include_dashboard=dashboard, _temp_dir=temp,
                  log_to_driver=True, configure_logging=True, logging_level="warning",
                  runtime_env={"env_vars": env, "worker_process_setup_hook": HOOK},
                  job_config=_job_config(job_name))
    if dashboard:
        kwargs.update(dashboard_host=host, dashboard_port=_free_port(DASHBOARD_PORT))
    try:
        ctx = ray.init(**kwargs)
    except Exception as exc:  # Ray raises bare Exceptions when its processes cannot start (e.g. on a loaded machine)
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise NasError(f"the local Ray cluster did not start: {first}") from None
    return {"address": ctx.address_info.get("gcs_address", ""), "dashboard_url": ctx.dashboard_url or None}


def print_dashboard(url: str, token: Optional[str], log: Callable[[str], None] = print) -> None:
    """Print the dashboard URL and how to authenticate against it."""
    log(f"Ray dashboard: {url}")
    if token is None:
        log("  token auth is disabled (RAY_AUTH_MODE=disabled): open the URL directly")
        return
    log("  token auth is on; in another shell:")
    log(f"    export RAY_AUTH_TOKEN={token}")
    log(f"    curl -H \"Authorization: Bearer $RAY_AUTH_TOKEN\" {url}/api/version")
    log("  the web UI needs the same token; on a trusted single-user machine, RAY_AUTH_MODE=disabled opts out")


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block (C++ log lines bypass Python's sys.stderr)."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _join(address: str, job_name: Optional[str] = None) -> None:
    import ray

    # Ray retries the GCS once a second for 20 s by default; an address that answers TCP but is no Ray head
    # (a proxy, another service) should fail as fast as one that refuses the connection.
    os.environ.setdefault("RAY_gcs_server_port_wait_time_s", str(JOIN_RETRIES))
    try:
        with _quiet_stderr():  # Ray's C++ client logs one retry line per second while it waits
            ray.init(address=address, logging_level="warning", job_config=_job_config(job_name))
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError or its own types here
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        hint = ("; check that RAY_AUTH_TOKEN is that cluster's token" if os.environ.get("RAY_AUTH_TOKEN") else
                "; if it uses token auth, export RAY_AUTH_TOKEN=<its token>")
        raise NasError(f"--address {address}: cannot join the Ray cluster ({first}){hint}") from None


@contextlib.contextmanager
def ray_cluster(address: Optional[str] = None, cpus: Optional[int] = None, gpus: Optional[int] = None,
                dashboard: bool = False, dashboard_host: str = "127.0.0.1",
                log: Callable[[str], None] = print, job_name: Optional[str] = None) -> Iterator[ClusterInfo]:
    """Start a local cluster (or join ``address``) for the duration of the ``with`` block.

    ``job_name`` names this driver's job in the dashboard (see :func:`run_job_name`). An already
    initialised Ray (a test fixture, a Tune trial) is reused and left running.
    """
    if address and os.environ.get("RAY_AUTH_TOKEN") and not os.environ.get("RAY_AUTH_MODE"):
        # A joining driver assumes auth is disabled unless told otherwise (read when Ray is imported), and then
        # never sends the token.
        os.environ["RAY_AUTH_MODE"] = "token"
    if address:
        check_address(address)
        _keep_loopback(address)
    import ray

    ray_env()
    if dashboard and not address:
        _check_dashboard_deps()
    owned = not ray.is_initialized()
    url = temp = None
    if owned and address:
        if dashboard:
            log("--dashboard is ignored with --address: the cluster's own dashboard is used (port 8265 of its head)")
        _join(address, job_name)
    elif owned:
        _auth_token()
        temp = _temp_dir()
        url = _init_local(cpus, gpus, dashboard, dashboard_host, temp, job_name)["dashboard_url"]
        url = f"http://{url}" if url and not url.startswith("http") else url
    token = None if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled" else os.environ.get("RAY_AUTH_TOKEN")
    res = ray.cluster_resources()
    info = ClusterInfo(address=ray.get_runtime_context().gcs_address, cpus=res.get("CPU", 0.0),
                       gpus=res.get("GPU", 0.0), dashboard_url=url, token=token)
    if url:
        print_dashboard(url, token, log)
    try:
        yield info
    finally:
        if owned:
            ray.shutdown()
        if temp and not os.environ.get("NAS_RAY_KEEP_TMP"):
            shutil.rmtree(temp, ignore_errors=True)  # session logs; set NAS_RAY_KEEP_TMP=1 to keep them
