"""How sure a one-shot search is of its pick: errors by source, separability of the top-k, rank stability.

A candidate's proxy score is the mean of a K x N table of hits (K SGLD weight snapshots x N scoring images)
under one trained supernet. Three sources of noise move it, and the report names each figure after the one it
measures:

* **scoring-sample SE**: the snapshots and scoring images of this supernet. A two-way bootstrap resamples
  images with replacement and snapshots in moving blocks (circular, ``block`` long): snapshots of one SGLD
  chain are correlated, so resampling them one by one would treat them as independent. The effective number
  of snapshots (from the lag-1 autocorrelation of the per-snapshot scores) is reported beside it;
* **separability** of the returned genotype from each other top-k member: the percentile interval of the
  paired score difference at ``level`` lies above zero, computed on *held-out* images that did not rank the
  candidates (testing on the images that chose the top-k would favour the winner: a winner's-curse bias);
* **supernet-seed spread**: the same candidates scored under supernets trained with other seeds (their rank
  in the final population under each, and Kendall tau between the supernets' rankings); with one supernet
  this is not measured, and the verdict says so. A second SGLD chain of the same supernet (``chain_tau``)
  measures only the SGLD part of it.

Our reading: resampling both axes jointly is conservative (it counts the image-by-snapshot interaction twice);
the block length defaults to ceil(K^(1/3)), the usual rate for a moving-block bootstrap. Pure numpy, no torch.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence

import numpy as np

from nas.utils.stats import TauCI, kendall_tau_ci

__all__ = ["Candidate", "Confidence", "SupernetSpread", "bootstrap_scores", "assess", "chain_stability",
           "effective_snapshots", "default_block", "ranks_in", "verdict"]


@dataclass(frozen=True)
class Candidate:
    """One top-k member as reported: its proxy score, scoring-sample SE, cost, and held-out separability."""

    genotype: str
    score: float  # mean hit rate over snapshots x scoring images (a fraction): the search's own score
    scoring_se: float  # bootstrap SE of that score over this supernet's snapshots (blocks) and scoring images
    madds: int
    params: int
    separable: Optional[bool] = None  # for members after the first: its held-out gap to the first is beyond level
    held_out: Optional[float] = None  # its mean hit rate on the held-out images the separability test used
    supernet_ranks: Optional[List[int]] = None  # its rank (1 = best) in the final population under each supernet
    supernet_scores: Optional[List[float]] = None  # its score under each supernet (the run's own first)

    def as_dict(self) -> dict:
        """Return the plain dict written to summary.json."""
        return asdict(self)


@dataclass(frozen=True)
class SupernetSpread:
    """How much the choice of supernet seed moves the ranking: K supernets, tau of each other to the first."""

    supernets: int  # supernets that scored the final population (1: the spread was not measured)
    taus: List[TauCI]  # Kendall tau of the population's scores, supernet k (k >= 1) against the run's own
    seconds: float = 0.0  # wall time of training and scoring the extra supernets (part of the report's)

    def as_dict(self) -> dict:
        """Return the plain dict written to summary.json."""
        return {"supernets": self.supernets, "measured": self.supernets > 1, "seconds": self.seconds,
                "tau": [{"tau": t.tau, "ci": [t.low, t.high], "n": t.n} for t in self.taus]}


@dataclass(frozen=True)
class Confidence:
    """The confidence report of a run: top-k with errors, rank stability, the verdict and its cost."""

    level: float
    top: List[Candidate]
    chain_tau: Optional[TauCI]  # None when there is no second chain (SGLD off, or fewer than 3 members)
    verdict: str
    spread: Optional[SupernetSpread] = None
    snapshots_effective: Optional[float] = None  # effective number of snapshots of the returned genotype
    block: int = 1  # snapshot block length of the bootstrap
    separated_on: str = "held_out"  # the images of the separability test: held_out, or scoring (none held out)
    seconds: Optional[float] = None  # wall time of the report (its extra supernets included)

    @property
    def separable(self) -> bool:
        """Return whether the returned genotype is separable from every other top-k member."""
        return all(c.separable for c in self.top[1:])

    def as_dict(self) -> dict:
        """Return the plain dict written to summary.json."""
        tau = self.chain_tau
        return {"level": self.level, "separable": self.separable, "verdict": self.verdict,
                "separated_on": self.separated_on, "block": self.block,
                "snapshots_effective": self.snapshots_effective, "seconds": self.seconds,
                "top": [c.as_dict() for c in self.top],
                "chain_tau": None if tau is None else {"tau": tau.tau, "ci": [tau.low, tau.high], "n": tau.n},
                "supernets": None if self.spread is None else self.spread.as_dict()}


def _check(hits: Sequence[np.ndarray]) -> np.ndarray:
    tables = [np.asarray(h, dtype=float) for h in hits]
    if len({t.shape for t in tables}) > 1:
        raise ValueError("hits must be one K x N table (snapshots x images) per candidate, all the same shape")
    arr = np.asarray(tables)
    if arr.ndim != 3 or arr.shape[1] < 1 or arr.shape[2] < 1:
        raise ValueError("hits must be one K x N table (snapshots x images) per candidate, all the same shape")
    return arr


def default_block(k: int) -> int:
    """Return the default snapshot block length, ceil(K^(1/3)) (1 for a single snapshot)."""
    return max(1, math.ceil(k ** (1 / 3) - 1e-9))


def _block_weights(rng: np.random.Generator, k: int, block: int) -> np.ndarray:
    """Return per-snapshot weights of one circular moving-block resample of K snapshots (summing to 1)."""
    if k == 1:
        return np.ones(1)
    block = min(block, k)
    starts = rng.integers(0, k, -(-k // block))
    picks = ((starts[:, None] + np.arange(block)[None, :]) % k).ravel()[:k]
    return np.bincount(picks, minlength=k) / k


def bootstrap_scores(hits: Sequence[np.ndarray], *, resamples: int = 1000, seed: int = 0,
                     block: Optional[int] = None) -> np.ndarray:
    """Return a ``resamples x candidates`` array of scores, snapshots and images resampled with replacement.

    ``hits[c]`` is candidate c's K x N table of 0/1 (or any per-image score). Images are resampled one by one,
    snapshots in circular blocks of ``block`` consecutive ones (None: :func:`default_block`; 1: one by one).
    Every candidate uses the same resampled snapshots and images in a given row, so rows compare candidates on
    equal terms. With K = 1 only the images are resampled.

    Example:
        >>> draws = bootstrap_scores([np.ones((2, 10)), np.zeros((2, 10))], resamples=5)
        >>> draws.shape, float(draws[:, 0].min()), float(draws[:, 1].max())
        ((5, 2), 1.0, 0.0)
    """
    arr = _check(hits)
    _, k, n = arr.shape
    block = default_block(k) if block is None else block
    if block < 1:
        raise ValueError("block must be at least 1")
    rng = np.random.default_rng(seed)
    out = np.empty((resamples, arr.shape[0]))
    for r in range(resamples):
        # The mean over a resampled grid = weighted mean with per-snapshot and per-image counts.
        ws = _block_weights(rng, k, block)
        wi = np.bincount(rng.integers(0, n, n), minlength=n) / n
        out[r] = np.einsum("ckn,k,n->c", arr, ws, wi)
    return out


def effective_snapshots(per_snapshot: Sequence[float]) -> float:
    """Return the effective number of K snapshots from the lag-1 autocorrelation rho of their scores.

    ``K (1 - rho) / (1 + rho)`` with rho clipped to [0, 1): positively correlated snapshots of one chain count
    as fewer independent ones; K when they vary too little to estimate rho (K < 3 or no variance).

    Example:
        >>> effective_snapshots([0.5, 0.6, 0.5, 0.6])  # alternating: no positive correlation
        4.0
    """
    x = np.asarray(per_snapshot, dtype=float)
    k = x.size
    if k < 3 or np.var(x) == 0:
        return float(k)
    d = x - x.mean()
    rho = float(np.clip((d[:-1] * d[1:]).sum() / (d * d).sum(), 0.0, 0.999))
    return float(k * (1 - rho) / (1 + rho))


def _separable(draws: np.ndarray, level: float) -> List[bool]:
    """Return, for candidates 1.., whether candidate 0 beats it in at least ``level`` of the paired draws'
    percentile interval (the lower ``(1 - level) / 2`` quantile of the difference is above zero)."""
    tail = (1 - level) / 2 * 100
    return [bool(np.percentile(draws[:, 0] - draws[:, c], tail) > 0) for c in range(1, draws.shape[1])]


def assess(genotypes: Sequence[str], hits: Sequence[np.ndarray], madds: Sequence[int], params: Sequence[int], *,
           level: float = 0.95, resamples: int = 1000, seed: int = 0, block: Optional[int] = None,
           held_out: Optional[Sequence[np.ndarray]] = None) -> List[Candidate]:
    """Return the candidates (ranked as given: the returned genotype first) with score, SE and separability.

    ``hits`` are the tables the search scored (they give ``score`` and ``scoring_se``); ``held_out`` tables of
    other images, when given, decide ``separable`` (else ``hits`` do, with the winner's-curse bias).
    """
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    if not len(genotypes) == len(hits) == len(madds) == len(params) >= 1:
        raise ValueError("genotypes, hits, madds and params must be equally long and not empty")
    arr = _check(hits)
    draws = bootstrap_scores(arr, resamples=resamples, seed=seed, block=block)
    test = arr
    if held_out is not None:
        test = _check(held_out)
        if test.shape[0] != arr.shape[0]:
            raise ValueError("held_out needs one table per candidate")
    test_draws = draws if test is arr else bootstrap_scores(test, resamples=resamples, seed=seed + 1, block=block)
    sep = [None, *_separable(test_draws, level)]
    kept = None if test is arr else [float(t.mean()) for t in test]
    return [Candidate(str(g), float(arr[i].mean()), float(draws[:, i].std(ddof=1)) if resamples > 1 else 0.0,
                      int(m), int(p), sep[i], None if kept is None else kept[i])
            for i, (g, m, p) in enumerate(zip(genotypes, madds, params))]


def ranks_in(population_scores: Sequence[float], members: Sequence[int]) -> List[int]:
    """Return the rank (1 = best, ties share the better rank) of each index in ``members`` among the scores."""
    s = np.asarray(population_scores, dtype=float)
    return [int((s > s[i]).sum()) + 1 for i in members]


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


def verdict(top: Sequence[Candidate], level: float, chain_tau: Optional[TauCI] = None,
            spread: Optional[SupernetSpread] = None, held_out: bool = True) -> str:
    """Return the one-line verdict, e.g. ``top-3 not separable at 95% on held-out images: scores 0.81 ± 0.01 ...``.

    Scores carry their scoring-sample SE; the supernet-seed part is reported (tau between supernets and the
    returned genotype's ranks) or said to be unmeasured.
    """
    pct = f"{100 * level:g}%" + (" on held-out images" if held_out else " on the scoring images")
    scores = ", ".join(f"{c.score:.3f} ± {c.scoring_se:.3f}" for c in top)
    k = len(top)
    tied = 1 + sum(1 for c in top[1:] if not c.separable)
    if k == 1:
        head = f"only one candidate scored: {scores}"
    elif tied == 1:
        head = f"the returned genotype is separable from the rest of the top-{k} at {pct}"
    elif tied == k:
        head = f"top-{k} not separable at {pct}"
    else:
        head = f"the returned genotype is not separable from {tied - 1} of the other top-{k} at {pct}"
    if k > 1:
        head += f": scores {scores} (± scoring-sample SE)"
    else:
        head += " (± scoring-sample SE)"
    if chain_tau is not None:
        head += f"; rank stability between two SGLD chains tau {chain_tau.tau:.2f} " \
                f"[{chain_tau.low:.2f}, {chain_tau.high:.2f}] over {chain_tau.n}"
    if spread is None or spread.supernets < 2:
        head += "; supernet-seed variance not measured (confidence.supernets=1)"
    else:
        taus = ", ".join(f"{t.tau:.2f} [{t.low:.2f}, {t.high:.2f}]" for t in spread.taus)
        ranks = top[0].supernet_ranks or []
        head += (f"; across {spread.supernets} supernet seeds tau {taus} over {spread.taus[0].n}, the returned "
                 f"genotype ranks {'/'.join(str(r) for r in ranks)}")
    return head
