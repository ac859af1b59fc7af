"""Helpers the experiments share: the repository root, JSON caches, finished searches, and tau with its interval."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

from nas.errors import NasError
from nas.utils.stats import kendall_tau_ci

__all__ = ["ROOT", "RESULTS", "load_json", "read_json", "run_search", "tau_entry"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"


def load_json(path: Path) -> dict:
    """Return the JSON object cached in ``path``, or ``{}`` when nothing was written there yet."""
    return json.loads(path.read_text()) if path.is_file() else {}


def read_json(path: Path, flag: str) -> dict:
    """Read an earlier benchmark file named by ``flag``; a missing, torn or non-object one is a one-line error."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise NasError(f"{flag} {str(path)[:120]}: cannot read it ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise NasError(f"{flag} {str(path)[:120]}: not a benchmark file")
    return data


def run_search(cfg, out: Path, resume: Optional[bool] = None) -> dict:
    """Run one search in ``out`` exactly as ``nas-search`` does (``resume`` as ``SearchRun.run``); return its summary."""
    from nas.search.run import SearchRun

    SearchRun(cfg, out).run(resume=resume)
    return json.loads((out / "summary.json").read_text())


def tau_entry(a: List[float], b: List[float]) -> dict:
    """Return Kendall's tau of ``a`` and ``b`` with its 95% bootstrap interval as a plain dict."""
    ci = kendall_tau_ci(a, b)
    return {"tau": ci.tau, "ci95": [ci.low, ci.high], "n": ci.n}
