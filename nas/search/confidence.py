"""How sure a one-shot search is of its pick: bootstrap errors, separability of the top-k, chain stability.

A candidate's proxy score is the mean of a K x N table of hits (K SGLD weight snapshots x N scoring images).
Both axes are samples: another chain would draw other snapshots, another scoring set other images. The
two-way bootstrap here resamples snapshots and images with replacement (the same draws for every candidate, so
differences between candidates are paired) and reports:

* each candidate's bootstrap standard error;
* whether the returned genotype is *separable* from each other member of the top-k: the percentile interval of
  the paired score difference at ``level`` lies above zero;
* the rank stability of the final population between two SGLD chains (Kendall tau with a bootstrap interval,
  ``nas.utils.stats.kendall_tau_ci``);
* a one-line verdict.

Our reading: the issue asks for "standard error over SGLD snapshots and scoring images"; we resample both axes
jointly (a two-way bootstrap, which is conservative: it counts the image-by-snapshot interaction twice), and we
call two candidates separable when the paired difference's interval excludes zero. Pure numpy, no torch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence

import numpy as np

from nas.utils.stats import TauCI, kendall_tau_ci

__all__ = ["Candidate", "Confidence", "bootstrap_scores", "assess", "chain_stability", "verdict"]


@dataclass(frozen=True)
class Candidate:
    """One top-k member as reported: its proxy score, bootstrap standard error and cost."""

    genotype: str
    score: float  # mean hit rate over snapshots x images (a fraction)
    se: float  # bootstrap standard error of that score
    madds: int
    params: int
    separable: Optional[bool] = None  # for members after the first: its gap to the first is beyond the level

    def as_dict(self) -> dict:
        """Return the plain dict written to summary.json."""
        return asdict(self)


@dataclass(frozen=True)
class Confidence:
    """The confidence report of a run: top-k with errors, chain stability and the verdict."""

    level: float
    top: List[Candidate]
    chain_tau: Optional[TauCI]  # None when there is no second chain (SGLD off, or fewer than 3 members)
    verdict: str

    @property
    def separable(self) -> bool:
        """Return whether the returned genotype is separable from every other top-k member."""
        return all(c.separable for c in self.top[1:])

    def as_dict(self) -> dict:
        """Return the plain dict written to summary.json."""
        tau = self.chain_tau
        return {"level": self.level, "separable": self.separable, "verdict": self.verdict,
                "top": [c.as_dict() for c in self.top],
                "chain_tau": None if tau is None else {"tau": tau.tau, "ci": [tau.low, tau.high], "n": tau.n}}


def _check(hits: Sequence[np.ndarray]) -> np.ndarray:
    tables = [np.asarray(h, dtype=float) for h in hits]
    if len({t.shape for t in tables}) > 1:
        raise ValueError("hits must be one K x N table (snapshots x images) per candidate, all the same shape")
    arr = np.asarray(tables)
    if arr.ndim != 3 or arr.shape[1] < 1 or arr.shape[2] < 1:
        raise ValueError("hits must be one K x N table (snapshots x images) per candidate, all the same shape")
    return arr


def bootstrap_scores(hits: Sequence[np.ndarray], *, resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Return a ``resamples x candidates`` array of scores, snapshots and images resampled with replacement.

    ``hits[c]`` is candidate c's K x N table of 0/1 (or any per-image score). Every candidate uses the same
    resampled snapshots and images in a given row, so rows compare candidates on equal terms. With K = 1 only
    the images are resampled.

    Example:
        >>> draws = bootstrap_scores([np.ones((2, 10)), np.zeros((2, 10))], resamples=5)
        >>> draws.shape, float(draws[:, 0].min()), float(draws[:, 1].max())
        ((5, 2), 1.0, 0.0)
    """
    arr = _check(hits)
    _, k, n = arr.shape
    rng = np.random.default_rng(seed)
    out = np.empty((resamples, arr.shape[0]))
    for r in range(resamples):
        snaps = rng.integers(0, k, k) if k > 1 else np.zeros(1, dtype=int)
        # The mean over a resampled grid = weighted mean with per-snapshot and per-image counts.
        ws = np.bincount(snaps, minlength=k) / k
        wi = np.bincount(rng.integers(0, n, n), minlength=n) / n
        out[r] = np.einsum("ckn,k,n->c", arr, ws, wi)
    return out


def _separable(draws: np.ndarray, level: float) -> List[bool]:
    """Return, for candidates 1.., whether candidate 0 beats it in at least ``level`` of the paired draws'
    percentile interval (the lower ``(1 - level) / 2`` quantile of the difference is above zero)."""
    tail = (1 - level) / 2 * 100
    return [bool(np.percentile(draws[:, 0] - draws[:, c], tail) > 0) for c in range(1, draws.shape[1])]


def assess(genotypes: Sequence[str], hits: Sequence[np.ndarray], madds: Sequence[int], params: Sequence[int], *,
           level: float = 0.95, resamples: int = 1000, seed: int = 0) -> List[Candidate]:
    """Return the candidates (ranked as given: the returned genotype first) with score, SE and separability."""
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    if not len(genotypes) == len(hits) == len(madds) == len(params) >= 1:
        raise ValueError("genotypes, hits, madds and params must be equally long and not empty")
    arr = _check(hits)
    draws = bootstrap_scores(arr, resamples=resamples, seed=seed)
    sep = [None, *_separable(draws, level)]
    return [Candidate(str(g), float(arr[i].mean()), float(draws[:, i].std(ddof=1)) if resamples > 1 else 0.0,
                      int(m), int(p), sep[i])
            for i, (g, m, p) in enumerate(zip(genotypes, madds, params))]


def chain_stability(chain_a: Sequence[float], chain_b: Sequence[float], *, level: float = 0.95,
                    resamples: int = 1000, seed: int = 0) -> Optional[TauCI]:
    """Return Kendall tau (with a bootstrap interval) between the scores of one population under two chains.

    None when fewer than three members are given (no meaningful ranking).
    """
    if len(chain_a) != len(chain_b):
        raise ValueError("the two chains scored different numbers of candidates")
    if len(chain_a) < 3:
        return None
    return kendall_tau_ci(chain_a, chain_b, level=level, resamples=resamples, seed=seed)


def verdict(top: Sequence[Candidate], level: float, chain_tau: Optional[TauCI] = None) -> str:
    """Return the one-line verdict on the top-k, e.g. ``top-3 not separable at 95%: scores 0.81 ± 0.01, ...``."""
    pct = f"{100 * level:g}%"
    scores = ", ".join(f"{c.score:.3f} ± {c.se:.3f}" for c in top)
    k = len(top)
    tied = 1 + sum(1 for c in top[1:] if not c.separable)
    if k == 1:
        head = f"only one candidate scored: {scores}"
    elif tied == 1:
        head = f"the returned genotype is separable from the rest of the top-{k} at {pct}: scores {scores}"
    elif tied == k:
        head = f"top-{k} not separable at {pct}: scores {scores}"
    else:
        head = f"the returned genotype is not separable from {tied - 1} of the other top-{k} at {pct}: scores {scores}"
    if chain_tau is not None:
        head += f"; rank stability between two SGLD chains tau {chain_tau.tau:.2f} " \
                f"[{chain_tau.low:.2f}, {chain_tau.high:.2f}] over {chain_tau.n}"
    return head
