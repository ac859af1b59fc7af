"""A rank blend of several scores: each turned into its rank share, then a weighted sum.

Ranks make scores on different scales (log synflow, a log-determinant, MAdds, a supernet's accuracy)
comparable and make the blend immune to one proxy's outliers. A score's rank share is the share of a
reference set it beats (ties counting half), so the same candidate gets the same blend value in every
population when the reference is fixed; without a reference the scored set is its own.

``BLEND_WEIGHTS`` were fitted by ``tools/bench_proxies.py`` on one half of the measured NAS-Bench-201 cells,
against ``c10_valid_12ep`` (a column a search may see), by a grid over the simplex in steps of
``FIT_STEP``; they are judged on the other half against the 200-epoch column (docs/trust.md).
"""
from __future__ import annotations

import itertools
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from nas.errors import NasError
from nas.utils.stats import spearman

__all__ = ["BLEND_WEIGHTS", "SUPERNET_SHARE", "FIT_STEP", "rank_share", "rank_blend", "fit_blend"]

# Fitted by tools/bench_proxies.py on 500 NB201 cells (a seeded half of its 1,000) against c10_valid_12ep, over all
# seven bundled proxies; judged on the other 500 against c10_test_200ep_analog (docs/trust.md, section 5).
BLEND_WEIGHTS: Dict[str, float] = {"madds": 0.1, "naswot": 0.7, "params": 0.2}
# The one-shot family's blend adds the supernet's score with this share of the total weight. It was not fitted:
# no supernet scores of NB201 cells were measured with the proxies; one half is a prior, not a finding.
SUPERNET_SHARE = 0.5
FIT_STEP = 0.1


def rank_share(values: Sequence[float], reference: Optional[Sequence[float]] = None) -> np.ndarray:
    """Return, per value, the share of ``reference`` (default: ``values``) below it, ties counting half.

    Example:
        >>> rank_share([1.0, 2.0, 3.0]).tolist()
        [0.16666666666666666, 0.5, 0.8333333333333334]
    """
    v = np.asarray(values, dtype=float)
    ref = np.sort(np.asarray(v if reference is None else reference, dtype=float))
    if ref.size == 0:
        raise NasError("a rank blend needs a non-empty reference")
    below = np.searchsorted(ref, v, "left")
    tied = np.searchsorted(ref, v, "right") - below
    return (below + 0.5 * tied) / ref.size


def rank_blend(features: Mapping[str, Sequence[float]], weights: Mapping[str, float],
               reference: Optional[Mapping[str, Sequence[float]]] = None) -> np.ndarray:
    """Return the weighted sum of each weighted feature's rank share (against ``reference[name]`` when given)."""
    missing = [k for k in weights if k not in features or (reference is not None and k not in reference)]
    if missing:
        raise NasError(f"rank blend: no values for {', '.join(missing)[:80]}")
    total = sum(weights.values())
    if total <= 0:
        raise NasError("rank blend: the weights must sum to a positive value")
    n = len(next(iter(features.values())))
    out = np.zeros(n)
    for name, w in weights.items():
        if w:
            out += (w / total) * rank_share(features[name], None if reference is None else reference[name])
    return out


def _simplex(k: int, step: float):
    """Yield every weight vector of ``k`` non-negative multiples of ``step`` that sum to 1."""
    units = int(round(1 / step))
    for cut in itertools.combinations(range(units + k - 1), k - 1):  # stars and bars
        bounds = (-1, *cut, units + k - 1)
        yield tuple((bounds[i + 1] - bounds[i] - 1) * step for i in range(k))


def fit_blend(features: Mapping[str, Sequence[float]], target: Sequence[float],
              step: float = FIT_STEP) -> Tuple[Dict[str, float], float]:
    """Return the simplex weights (grid of ``step``) whose blend has the highest Spearman with ``target``, and it.

    Ties between weight vectors go to the first in grid order, so the fit is deterministic.
    """
    names = sorted(features)
    shares = {k: rank_share(features[k]) for k in names}
    best, best_rho = None, -np.inf
    for w in _simplex(len(names), step):
        blend = sum(wi * shares[k] for wi, k in zip(w, names) if wi)
        rho = spearman(blend, target)
        if rho > best_rho + 1e-12:
            best, best_rho = w, rho
    return {k: round(wi, 6) for k, wi in zip(names, best) if wi}, float(best_rho)
