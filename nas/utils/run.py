"""Run folders: default names and the provenance record (seed, versions, git hash) written beside results."""
from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict

__all__ = ["default_run_dir", "run_metadata", "git_hash"]


def default_run_dir(prefix: str) -> Path:
    """Return ``runs/<prefix>-<YYYYmmdd-HHMMSS>`` (not created)."""
    return Path("runs") / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"


def git_hash() -> str:
    """Return the git commit of the installed source tree, or '' outside a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def run_metadata(seed: int, **extra: Any) -> Dict[str, Any]:
    """Return seed, versions of python/torch/numpy/nas, the git hash, command line and time."""
    import numpy
    import torch

    import nas

    return {
        "seed": seed,
        "nas": nas.__version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "git": git_hash(),
        "argv": sys.argv,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,
    }
