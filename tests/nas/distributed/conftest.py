"""Fixtures shared by the distributed tests: one local Ray cluster per session."""
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "support"))
from device_spy import read_reports, spy_env  # noqa: E402

SPY = {}  # the session cluster's spy folder, once this session started the cluster


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
        # Every Ray worker of the session carries the device spy (the raylet passes its environment on to them);
        # the ray_spy fixture reads what they reported.
        SPY["folder"] = os.path.join(temp, "spy")
        os.makedirs(SPY["folder"])
        env = spy_env(SPY["folder"])
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, logging_level="warning",
                     log_to_driver=False)
        finally:
            for k, v in saved.items():  # the pytest process and its other subprocesses stay unspied
                if v is None:
                    os.environ.pop(k)
                else:
                    os.environ[k] = v
    yield ray
    if owned and ray.is_initialized():
        ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def ray_spy(ray_session):
    """Return a function giving ``(checked, violations)`` of the session cluster's device spies so far (see
    tests/support/device_spy.py), or None when the cluster was not started by this session."""
    return lambda: read_reports(SPY["folder"]) if "folder" in SPY else None
