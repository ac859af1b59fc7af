"""The one-shot family: a window strategy scored by an SPOS supernet under SGLD weight snapshots."""
from __future__ import annotations

from typing import Any, List, Optional

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
        from nas.search.scorer import supernet_options

        check_window(run)
        supernet_options(run.cfg)
        refuse_stray_table(run.cfg)

    def build(self, run: Any) -> Setup:
        """Return the one-shot scorer, the window strategy, and the finalists and confidence of the summary."""
        from nas.search.outcome import choose_finalist, confidence_report
        from nas.search.scorer import OneShotScorer, window_sampler

        cfg, e = run.cfg, run.cfg.evolution
        cost_fn, lo, hi = cost_window(run)
        sampler = window_sampler(run.space, cost_fn, lo, hi, e.max_tries) if cfg.supernet.sampling == "budget" else None
        scorer = OneShotScorer(cfg, run.out, run.device, sampler=sampler, score_fn=run.score_fn)
        strategy = window_strategy(run, cost_fn, lo, hi)
        chosen: List[dict] = []

        def extra() -> dict:
            out = {"finalists": chosen} if cfg.finalists.k else {}
            if cfg.confidence.enabled:
                out["confidence"] = confidence_report(run, scorer, strategy)
            return out

        choose = (lambda: choose_finalist(run, scorer, strategy, chosen)) if cfg.finalists.k else None
        return Setup(scorer, strategy, e.population * scorer.num_snapshots, scorer.final_weights, cfg.num_classes,
                     spread=True, summary_extra=extra, choose=choose)
