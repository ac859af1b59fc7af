"""Fixtures shared by the distributed tests: one local Ray cluster per session."""
import os
import shutil
import tempfile

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
