"""The one-shot family: a window strategy scored by an SPOS supernet under SGLD weight snapshots, by a
training-free proxy (``score.scorer=proxy:NAME``: no supernet is built) or by a rank blend of both."""
from __future__ import annotations

from typing import Any, List, Optional

from nas.errors import NasError
from nas.search.families import Family, Setup
from nas.search.families.tabular import benchmark_selected, refuse_stray_table
from nas.search.families.window import check_window, cost_window, window_strategy

__all__ = ["OneShotFamily"]


class OneShotFamily(Family):
    """Train the image supernet (SPOS in the cost window), sample SGLD snapshots, score the strategy's batches."""

    def selects(self, cfg: Any) -> bool:
        """Return True unless the config asks for table look-ups (``benchmark.name``)."""
        return not benchmark_selected(cfg)

    def refusal(self, plugin: Any, strategy: str) -> Optional[str]:
        """Refuse a space without an image one-shot supernet."""
        if plugin.supernet is None or plugin.modality != "image":
            return (f"strategy {strategy!r} scores candidates with the image one-shot supernet; space "
                    f"{plugin.name!r} ({plugin.modality}) has none (try --strategy {plugin.default_strategy})")
        return None

    def check(self, run: Any) -> None:
        """Check the budget window, the supernet's proxy options and a stray ``benchmark.table``."""
        from nas.search.proxy_scorer import check_scorer
        from nas.search.scorer import supernet_options

        check_window(run)
        supernet_options(run.cfg)
        refuse_stray_table(run.cfg)
        if check_scorer(run.cfg) != "supernet" and run.score_fn is not None:
            raise NasError("--eval-workers applies to score.scorer=supernet only")

    def build(self, run: Any) -> Setup:
        """Return the one-shot scorer, the window strategy, and the finalists and confidence of the summary."""
        from nas.config.search import parse_scorer
        from nas.search.outcome import choose_finalist, confidence_report
        from nas.search.scorer import OneShotScorer, window_sampler

        cfg, e = run.cfg, run.cfg.evolution
        cost_fn, lo, hi = cost_window(run)
        strategy = window_strategy(run, cost_fn, lo, hi)
        kind, name = parse_scorer(cfg.score.scorer)
        if kind == "proxy":
            return _training_free(run, name, strategy)
        sampler = window_sampler(run.space, cost_fn, lo, hi, e.max_tries) if cfg.supernet.sampling == "budget" else None
        scorer = OneShotScorer(cfg, run.out, run.device, sampler=sampler, score_fn=run.score_fn)
        if kind == "blend":
            return _blended(run, scorer, strategy, window_sampler(run.space, cost_fn, lo, hi, e.max_tries))
        chosen: List[dict] = []

        def extra() -> dict:
            out = {"finalists": chosen} if cfg.finalists.k else {}
            if cfg.confidence.enabled:
                out["confidence"] = confidence_report(run, scorer, strategy)
            return out

        choose = (lambda: choose_finalist(run, scorer, strategy, chosen)) if cfg.finalists.k else None
        return Setup(scorer, strategy, e.population * scorer.num_snapshots, scorer.final_weights, cfg.num_classes,
                     spread=True, summary_extra=extra, choose=choose)


def _training_free(run: Any, name: str, strategy: Any) -> Setup:
    """Return the setup of ``score.scorer=proxy:NAME``: no supernet, no preparation, one value per candidate."""
    from nas.search.proxy_scorer import ProxyScorer

    scorer = ProxyScorer.for_config(run.cfg, [name], run.device)
    return Setup(scorer, strategy, run.cfg.evolution.population, scorer.final_weights, run.cfg.num_classes,
                 summary_extra=lambda: {"scorer": run.cfg.score.scorer})


def _blended(run: Any, inner: Any, strategy: Any, sample: Any) -> Setup:
    """Return the setup of ``score.scorer=blend``: the supernet's rows blended with the fitted proxy weights."""
    from nas.proxies.blend import BLEND_WEIGHTS, SUPERNET_SHARE
    from nas.search.proxy_scorer import BlendScorer

    scorer = BlendScorer.for_config(run.cfg, inner, sample, run.device)
    extra = {"scorer": "blend", "blend_weights": dict(BLEND_WEIGHTS), "supernet_share": SUPERNET_SHARE}
    return Setup(scorer, strategy, run.cfg.evolution.population * inner.num_snapshots, scorer.final_weights,
                 run.cfg.num_classes, spread=True, summary_extra=lambda: dict(extra))
