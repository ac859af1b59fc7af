"""The one-shot family's other scorers (``score.scorer``): a training-free proxy, or a rank blend with the supernet.

``score.scorer`` takes ``supernet`` (the default: SPOS training, SGLD snapshots), ``proxy:NAME`` (one
registered proxy of ``nas.proxies`` on each candidate's freshly initialised proxy network: no supernet, no
training) or ``blend`` (the supernet's score and the proxies of ``nas.proxies.blend.BLEND_WEIGHTS``, each as a
rank share against a fixed reference sample of the cost window, weighted ``SUPERNET_SHARE`` to the rest).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from nas.core.genotype import Genotype
from nas.errors import NasError
from nas.search.scorer import StatelessScorer

__all__ = ["check_scorer", "ProxyScorer", "BlendScorer", "REFERENCE_SIZE"]

REFERENCE_SIZE = 32  # window members the blend ranks every candidate against (scored once per run)


def check_scorer(cfg: Any) -> str:
    """Return the scorer kind of a search config after checking it: known proxy, no option it would ignore."""
    from nas.config.search import parse_scorer
    from nas.proxies import get_proxy

    kind, name = parse_scorer(cfg.score.scorer)
    if name is not None:
        get_proxy(name)
    if kind != "supernet":
        if cfg.finalists.k:
            raise NasError(f"finalists.k applies to score.scorer=supernet, not {str(cfg.score.scorer)[:40]}")
        if cfg.data.root is not None:
            raise NasError("score.scorer proxy and blend score on the embedded images; data.root applies to "
                           "score.scorer=supernet")
    return kind


class ProxyScorer(StatelessScorer):
    """Score each candidate by training-free proxies on its freshly initialised proxy network (no supernet).

    Args:
        names: the proxies; the score is the first one's value (the others are for a blend).
        options: keywords of ``nas.proxies.score_proxies`` (num_classes, resolution, batch_size, seed, ...).
    """

    def __init__(self, names: Sequence[str], options: Mapping[str, Any]):
        self.names, self.options = list(names), dict(options)
        self._cache: Dict[str, Dict[str, float]] = {}  # genotype string -> proxies (repeats cost nothing)

    @classmethod
    def for_config(cls, cfg: Any, names: Sequence[str], device: Any = "cpu") -> "ProxyScorer":
        """Return the scorer of a search config: the supernet's proxy shape on a batch of the embedded images.

        The batch (``data.batch_size`` images at ``data.proxy_resolution``, seeded by the run seed) is the size
        the supernet trains on; the cost baselines (params, madds) are counted at the run's target.
        """
        from nas.proxies.inputs import embedded_batch
        from nas.search.scorer import supernet_options
        from nas.utils.seeds import derive_seed

        classes = 2 * cfg.data.shapes
        num_classes = cfg.num_classes or classes
        data = embedded_batch("image", cfg.data.batch_size, cfg.data.proxy_resolution, None, num_classes,
                              derive_seed(cfg.seed, "proxy-batch"))
        return cls(names, {"num_classes": num_classes, "resolution": cfg.resolution, "data": data,
                           "seed": cfg.seed, "model_options": supernet_options(cfg), "device": device})

    def values(self, genotypes: Sequence[Genotype]) -> Dict[str, List[float]]:
        """Return ``{proxy: [value per genotype]}``."""
        from nas.proxies import score_proxies

        for g in genotypes:
            if str(g) not in self._cache:
                self._cache[str(g)] = score_proxies(g, self.names, **self.options)
        return {n: [self._cache[str(g)][n] for g in genotypes] for n in self.names}

    def __call__(self, genotypes: Sequence[Genotype],
                 on_done: Optional[Callable[[], None]] = None) -> List[List[float]]:
        """Return, per genotype, ``[value of the first proxy]``."""
        out = [[v] for v in self.values(genotypes)[self.names[0]]]
        if on_done is not None:
            for _ in genotypes:
                on_done()
        return out


class BlendScorer:
    """Blend the one-shot scorer's per-snapshot score with proxies, by rank shares against a fixed reference.

    Each candidate's proxies (``weights``) give one rank blend against the reference's; under each weight
    snapshot k, its supernet score's rank share among the reference's snapshot-k scores is mixed in with
    ``supernet_share``. The rows keep one value per snapshot, so the spread is still reported.
    """

    def __init__(self, inner: Any, proxies: ProxyScorer, weights: Mapping[str, float], supernet_share: float,
                 reference: Sequence[Genotype]):
        self.inner, self.proxies, self.weights = inner, proxies, dict(weights)
        self.share, self.reference = supernet_share, list(reference)
        self._ref: Optional[Tuple[Dict[str, List[float]], List[List[float]]]] = None
        self.num_snapshots = inner.num_snapshots
        for name in ("phases", "prep_units", "prep_done", "state_dict", "load_state_dict", "final_weights"):
            setattr(self, name, getattr(inner, name))  # the supernet's preparation is the blend's

    @classmethod
    def for_config(cls, cfg: Any, inner: Any, sample: Callable[[Any], Genotype], device: Any = "cpu") -> "BlendScorer":
        """Return the blend of a search config: the fitted weights, and a reference of ``REFERENCE_SIZE`` window
        members drawn by ``sample(rng)`` from an RNG fixed by the run seed (the same reference on a rerun)."""
        from nas.proxies.blend import BLEND_WEIGHTS, SUPERNET_SHARE
        from nas.utils.seeds import seeded_random

        rng = seeded_random(cfg.seed, "blend-reference")
        reference = [sample(rng) for _ in range(REFERENCE_SIZE)]
        proxies = ProxyScorer.for_config(cfg, sorted(BLEND_WEIGHTS), device)
        return cls(inner, proxies, BLEND_WEIGHTS, SUPERNET_SHARE, reference)

    def _reference(self) -> Tuple[Dict[str, List[float]], List[List[float]]]:
        """Return the reference's proxies and supernet rows (scored on first use, once the supernet is trained)."""
        if self._ref is None:
            self._ref = (self.proxies.values(self.reference), self.inner(self.reference))
        return self._ref

    def __call__(self, genotypes: Sequence[Genotype],
                 on_done: Optional[Callable[[], None]] = None) -> List[List[float]]:
        """Return, per genotype, the blend under each snapshot."""
        from nas.proxies.blend import rank_blend, rank_share

        ref_values, ref_rows = self._reference()
        rows = self.inner(genotypes, on_done)
        base = rank_blend(self.proxies.values(genotypes), self.weights, reference=ref_values)
        out = [[0.0] * len(r) for r in rows]
        for k in range(len(rows[0])):
            shares = rank_share([r[k] for r in rows], [r[k] for r in ref_rows])
            for i in range(len(rows)):
                out[i][k] = float((1 - self.share) * base[i] + self.share * shares[i])
        return out
