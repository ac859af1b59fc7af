"""Small statistics helpers used by benchmarks and reports: average ranks, Spearman's rho, Kendall's tau-b and its
bootstrap interval, and the claims-as-tests helpers (a permutation p-value, a bootstrap interval with a one-sided p, a
one-sided Student t-test over seeds, an exact sign-flip test, ``Claim``) and the Wilson interval of a proportion."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable, Sequence, Tuple

import numpy as np

__all__ = ["average_ranks", "spearman", "kendall_tau", "kendall_tau_ci", "TauCI", "Claim", "permutation_p",
           "bootstrap_test", "student_t_sf", "student_t_ppf", "t_claim", "sign_flip_claim",
           "wilson_interval"]


def _tie_pairs(sorted_values: np.ndarray) -> int:
    """Return the number of tied pairs in a sorted array: sum of t(t-1)/2 over runs of equal values."""
    if sorted_values.size == 0:
        return 0
    edges = np.flatnonzero(np.diff(sorted_values)) + 1
    runs = np.diff(np.concatenate(([0], edges, [sorted_values.size])))
    return int((runs * (runs - 1) // 2).sum())


def _inversions(ranks: np.ndarray, m: int) -> int:
    """Return the pairs ``i < j`` with ``ranks[i] > ranks[j]``: a bottom-up merge sort, vectorised per level."""
    arr, n, width, total = ranks.astype(np.int64), ranks.size, 1, 0
    pos = np.arange(n)
    while width < n:
        pair = pos // (2 * width)
        keys = pair * (m + 1) + arr  # globally sorted within each left half and each right half
        left = (pos % (2 * width)) < width
        lk, rk, rp = keys[left], keys[~left], pair[~left]
        end = np.searchsorted(lk, (rp + 1) * (m + 1), "left")  # end of the left half of each right element's pair
        total += int((end - np.searchsorted(lk, rk, "right")).sum())  # left elements greater than it
        arr = np.sort(keys) - pair * (m + 1)  # merge: pairs stay in order, values sort within each pair
        width *= 2
    return total


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """Return the 0-based ranks of ``values``, tied values sharing their mean rank; O(n log n).

    Example:
        >>> average_ranks([3.0, 1.0, 3.0]).tolist()
        [1.5, 0.0, 1.5]
    """
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="mergesort")
    sorted_v = v[order]
    starts = np.flatnonzero(np.concatenate(([True], np.diff(sorted_v) != 0)))
    ends = np.concatenate((starts[1:], [v.size]))
    mean_rank = (starts + ends - 1) / 2.0  # the mean of the positions start..end-1 of each run of equal values
    ranks = np.empty(v.size)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Return Spearman's rank correlation (Pearson on average ranks); 0.0 when a side is constant.

    Example:
        >>> round(spearman([1, 2, 3, 4], [1, 3, 2, 4]), 6)
        0.8
    """
    if len(a) != len(b):
        raise ValueError("sequences differ in length")
    ra, rb = average_ranks(a), average_ranks(b)
    if ra.size < 2 or ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Return Kendall's tau-b between two equally long sequences (ties handled; 0.0 when undefined).

    O(n log n) (Knight 1966), so the 15,625 cells of NAS-Bench-201 take milliseconds.

    Example:
        >>> kendall_tau([1, 2, 3, 4], [1, 3, 2, 4])
        0.6666666666666666
    """
    if len(a) != len(b):
        raise ValueError("sequences differ in length")
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = x.size
    if n < 2:
        return 0.0
    order = np.lexsort((y, x))  # by a, then b: pairs tied in a are never counted as inversions of b
    xs, ys = x[order], y[order]
    n0 = n * (n - 1) // 2
    n1 = _tie_pairs(xs)
    n2 = _tie_pairs(np.sort(ys))
    joint = np.flatnonzero((np.diff(xs) != 0) | (np.diff(ys) != 0)) + 1
    runs = np.diff(np.concatenate(([0], joint, [n])))
    n3 = int((runs * (runs - 1) // 2).sum())
    _, ranks = np.unique(ys, return_inverse=True)
    discordant = _inversions(ranks, int(ranks.max()) + 1)
    concordant = n0 - n1 - n2 + n3 - discordant
    denom = math.sqrt((n0 - n1) * (n0 - n2))
    return (concordant - discordant) / denom if denom else 0.0


@dataclass(frozen=True)
class TauCI:
    """Kendall's tau-b with a percentile bootstrap confidence interval."""

    tau: float
    low: float
    high: float
    n: int  # pairs of values the tau is computed over

    def __str__(self) -> str:
        return f"{self.tau:.3f} [{self.low:.3f}, {self.high:.3f}] (n={self.n})"


def kendall_tau_ci(a: Sequence[float], b: Sequence[float], *, level: float = 0.95, resamples: int = 1000,
                   seed: int = 0) -> TauCI:
    """Return Kendall's tau-b of ``a`` and ``b`` with a percentile bootstrap interval at ``level``.

    Items (pairs ``(a[i], b[i])``) are resampled with replacement ``resamples`` times from a generator seeded
    with ``seed``, so the interval is reproducible. It describes the uncertainty of tau over the population
    the items were drawn from (e.g. twenty random architectures out of a whole space).

    Example:
        >>> ci = kendall_tau_ci([1, 2, 3, 4, 5, 6], [1, 3, 2, 4, 6, 5], resamples=200)
        >>> ci.low <= ci.tau <= ci.high
        True
    """
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size != y.size:
        raise ValueError("sequences differ in length")
    tau = kendall_tau(x, y)
    rng = np.random.default_rng(seed)
    draws = [kendall_tau(x[i], y[i]) for i in (rng.integers(0, x.size, x.size) for _ in range(resamples))]
    low, high = _percentiles(np.asarray(draws), level) if draws else (tau, tau)
    return TauCI(tau, low, high, int(x.size))


def _percentiles(draws: np.ndarray, level: float) -> Tuple[float, float]:
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)


@dataclass(frozen=True)
class Claim:
    """A claim stated as a test: the estimate, its interval at ``level``, a one-sided p-value and the n."""

    estimate: float
    low: float
    high: float
    p: float  # one-sided: the chance of an estimate at least this large when the claim is false
    n: str  # what was counted, e.g. "3 picks vs 8 randoms"
    level: float = 0.95

    @property
    def shown(self) -> bool:
        """Return whether the claim is shown: p < 0.05."""
        return self.p < 0.05

    def as_dict(self) -> dict:
        """Return the plain dict a report stores."""
        return {"estimate": self.estimate, "ci": [self.low, self.high], "p": self.p, "n": self.n,
                "level": self.level, "verdict": "met" if self.shown else "not shown"}

    def __str__(self) -> str:
        return (f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}], p = {self.p:.3g}, n = {self.n}: "
                f"{'met' if self.shown else 'not shown'}")


def permutation_p(treated: Sequence[float], control: Sequence[float], stat: Callable[[np.ndarray, np.ndarray], float],
                  *, resamples: int = 100_000, seed: int = 0) -> float:
    """Return the one-sided permutation p-value of ``stat(treated, control)`` being this large by chance.

    Under the null the labels are exchangeable: every way of calling ``len(treated)`` of the pooled values
    "treated" is equally likely. All relabellings are enumerated when there are at most ``resamples`` of them
    (an exact test), else ``resamples`` random ones are drawn (the observed labelling counted once, so p > 0).

    Example:
        >>> diff = lambda a, b: a.mean() - b.mean()
        >>> round(permutation_p([5, 6], [1, 2, 3], diff), 3)  # the two largest of five: 1 of C(5, 2) = 10
        0.1
    """
    a, b = np.asarray(treated, dtype=float), np.asarray(control, dtype=float)
    pooled, k = np.concatenate([a, b]), a.size
    observed = stat(a, b) - 1e-12
    n = pooled.size
    if math.comb(n, k) <= resamples:
        hits = total = 0
        for chosen in itertools.combinations(range(n), k):
            mask = np.zeros(n, dtype=bool)
            mask[list(chosen)] = True
            hits += bool(stat(pooled[mask], pooled[~mask]) >= observed)
            total += 1
        return hits / total
    rng = np.random.default_rng(seed)
    hits = 1
    for _ in range(resamples):
        perm = rng.permutation(n)
        hits += bool(stat(pooled[perm[:k]], pooled[perm[k:]]) >= observed)
    return hits / (resamples + 1)


def bootstrap_test(stat: Callable[..., float], *groups: Sequence, paired: bool = False, level: float = 0.95,
                   resamples: int = 2000, seed: int = 0) -> Tuple[float, float, float, float]:
    """Return ``(estimate, low, high, p)``: ``stat(*groups)``, its percentile interval and a one-sided p.

    Each group is resampled with replacement on its own, or, with ``paired``, all groups with the same indices
    (equally long, e.g. two scores of the same genotypes). ``p`` is the share of resampled estimates at or below
    zero: the bootstrap's answer to "could the true value be zero or less?" (approximate for small n).
    """
    arrays = [np.asarray(g) for g in groups]
    estimate = float(stat(*arrays))
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for r in range(resamples):
        if paired:
            idx = rng.integers(0, arrays[0].shape[0], arrays[0].shape[0])
            draws[r] = stat(*(g[idx] for g in arrays))
        else:
            draws[r] = stat(*(g[rng.integers(0, g.shape[0], g.shape[0])] for g in arrays))
    low, high = _percentiles(draws, level)
    return estimate, low, high, float((draws <= 0).mean())


def student_t_sf(t: float, df: int) -> float:
    """Return P(T >= t) for Student's t with ``df`` (a positive integer) degrees of freedom, exactly.

    The share of the distribution inside (-|t|, |t|) has a finite closed form in theta = atan(|t| / sqrt(df))
    (Abramowitz and Stegun 26.7.3-4): a cosine power series times sin(theta), plus theta itself for odd ``df``.

    Example:
        >>> round(student_t_sf(4.302653, 2), 4)  # the 97.5th percentile of t with 2 degrees of freedom
        0.025
    """
    if int(df) != df or df < 1:
        raise ValueError(f"df must be a positive integer, got {str(df)[:40]}")
    df = int(df)
    theta = math.atan(abs(t) / math.sqrt(df))
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    if df % 2 == 0:  # sin(theta) * (1 + 1/2 c^2 + 1*3/(2*4) c^4 + ... up to c^(df-2))
        term = total = 1.0
        for k in range(1, df // 2):
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        inside = s * total
    elif df == 1:
        inside = 2 * theta / math.pi
    else:  # (2/pi) (theta + sin(theta) cos(theta) (1 + 2/3 c^2 + 2*4/(3*5) c^4 + ... up to c^(df-3)))
        term = total = 1.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            total += term
        inside = 2 / math.pi * (theta + s * math.cos(theta) * total)
    tail = max(0.0, (1.0 - inside) / 2)
    return tail if t >= 0 else 1.0 - tail


def student_t_ppf(q: float, df: int) -> float:
    """Return the ``q`` quantile of Student's t with ``df`` degrees of freedom (bisection on :func:`student_t_sf`)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must lie in (0, 1), got {str(q)[:40]}")
    lo, hi = -1e6, 1e6
    for _ in range(200):
        mid = (lo + hi) / 2
        if 1.0 - student_t_sf(mid, df) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def t_claim(values: Sequence[float], *, null: float = 0.0, n: str = "", level: float = 0.95) -> Claim:
    """Return the claim "the mean of ``values`` is above ``null``" as a one-sided Student t-test.

    ``values`` are one figure per independent run (per seed), or paired differences of two settings on the same
    seeds; for a lower-is-better figure pass it negated or as ``baseline - value``. The interval is the two-sided
    t interval of the mean at ``level``; ``p`` is one-sided. With fewer than two values, or no spread at all, there
    is no test: p is 1 (not shown) and the interval is the estimate itself.

    Example:
        >>> c = t_claim([0.573, 0.551, 0.564], null=0.5, n="3 seeds")
        >>> round(c.estimate, 3), round(c.p, 3)
        (0.563, 0.005)
    """
    x = np.asarray(values, dtype=float)
    label = n or f"{x.size} runs"
    if x.size == 0:
        raise ValueError("t_claim needs at least one value")
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if x.size > 1 else 0.0
    if x.size < 2 or sd == 0.0:
        return Claim(mean, mean, mean, 1.0, label, level)
    se = sd / math.sqrt(x.size)
    half = student_t_ppf(1 - (1 - level) / 2, x.size - 1) * se
    return Claim(mean, mean - half, mean + half, student_t_sf((mean - null) / se, x.size - 1), label, level)


def sign_flip_claim(diffs: Sequence[float], *, n: str = "", level: float = 0.95, resamples: int = 2000,
                    seed: int = 0) -> Claim:
    """Return the claim "the mean of ``diffs`` is above 0" as an exact one-sided sign-flip test.

    ``diffs`` are one paired difference per independent unit (per supernet, per seed). Under the null each
    difference is as likely negative as positive, so p is the share of all 2^k sign patterns whose mean is at
    least the one observed; with k units it cannot fall below 2^-k (k = 5 is the fewest that can reach 0.05).
    The interval is a percentile bootstrap of the mean over the units (``resamples`` draws, seeded).
    """
    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        raise ValueError("sign_flip_claim needs at least one difference")
    if d.size > 20:
        raise ValueError("sign_flip_claim enumerates 2^k sign patterns: at most 20 differences")
    mean = float(d.mean())
    flips = [float((d * np.asarray(signs)).mean()) for signs in itertools.product((1, -1), repeat=d.size)]
    p = sum(f >= mean - 1e-12 for f in flips) / len(flips)
    rng = np.random.default_rng(seed)
    draws = np.array([float(d[rng.integers(0, d.size, d.size)].mean()) for _ in range(resamples)])
    low, high = _percentiles(draws, level)
    return Claim(mean, low, high, p, n or f"{d.size} units", level)


def wilson_interval(successes: float, n: int, z: float = 1.96) -> Tuple[float, float]:
    """Return the Wilson score interval (95% by default) of ``successes`` out of ``n`` trials."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
