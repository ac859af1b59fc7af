"""How a one-shot search ends: the finalists' choice and the confidence report, given the finished ``SearchRun``.

Both read the run's config, cost, writer and progress, and the scorer and strategy the run searched with.
"""
from __future__ import annotations

from typing import List

__all__ = ["choose_finalist", "confidence_report"]


def choose_finalist(run, scorer, strategy, chosen: List[dict]):
    """Retrain the top ``finalists.k`` briefly, score them on held-out images; return the best and its score.

    ``chosen`` receives the finalists' records (``nas.search.finalists.Finalist``). The returned score is the
    winner's supernet score, as in every summary; its held-out figure is in its record.
    """
    from nas.search.finalists import Finalist, ProxyFinalists

    f = run.cfg.finalists
    train = ProxyFinalists(scorer, epochs=f.epochs, lr=f.lr, init=f.init, seed=run.cfg.seed)
    best = None
    for rank, ind in enumerate(strategy.top(f.k)):
        held_out = train(ind.genotype)
        c = run._cost(ind.genotype)
        chosen.append(Finalist(str(ind.genotype), c.madds, c.params, held_out, ind.score).as_dict())
        run.writer.add_scalar("finalists/held_out", held_out, rank)
        run.progress.log(f"finalist {rank + 1}/{f.k}: held-out top-1 {held_out:.4f} (supernet {ind.score:.4f})")
        if best is None or held_out > best[0]:
            best = (held_out, ind)
    return best[1].genotype, best[1].score


def confidence_report(run, scorer, strategy) -> dict:
    """Compute, log and return the run's confidence report (``nas.search.confidence``) as a plain dict.

    The returned genotype and the next best of the top-k are re-scored per image under the run's snapshots
    (their scores are those of the search); the final population (the best ``confidence.population`` seen) is
    scored again under a second SGLD chain.
    """
    from nas.search import confidence as conf

    c, writer = run.cfg.confidence, run.writer
    returned = str(getattr(run, "result_genotype", strategy.best().genotype))
    ranked = strategy.top(max(c.top_k, run.cfg.finalists.k))
    first = [i for i in ranked if str(i.genotype) == returned]  # a finalist may outrank the supernet's best
    top = (first + [i for i in ranked if str(i.genotype) != returned])[:c.top_k]
    tables = [t.numpy() for t in scorer.hit_tables([i.genotype for i in top])]
    costs = [run._cost(i.genotype) for i in top]
    cands = conf.assess([str(i.genotype) for i in top], tables, [x.madds for x in costs], [x.params for x in costs],
                        level=c.level, resamples=c.resamples, seed=run.cfg.seed)
    tau = None
    if c.second_chain and run.cfg.sgld.enabled:
        run.progress.log("confidence: scoring the final population under a second SGLD chain")
        pop = strategy.top(c.population or run.cfg.evolution.population)
        # Scored here, not through the run's score_fn: the report stays local, like the top-k's hit tables.
        second = [[int(row.sum()) / row.numel() for row in t]
                  for t in scorer.hit_tables([i.genotype for i in pop], snapshots=scorer.second_chain())]
        tau = conf.chain_stability([i.score for i in pop], [sum(r) / len(r) for r in second], level=c.level,
                                   resamples=c.resamples, seed=run.cfg.seed)
    report = conf.Confidence(c.level, cands, tau, conf.verdict(cands, c.level, tau))
    for rank, cand in enumerate(cands):
        writer.add_scalar("confidence/score", cand.score, rank)
        writer.add_scalar("confidence/se", cand.se, rank)
        writer.add_scalar("confidence/madds", cand.madds, rank)
    if tau is not None:
        for key, value in (("tau", tau.tau), ("tau_low", tau.low), ("tau_high", tau.high)):
            writer.add_scalar(f"confidence/chain_{key}", value, 0)
    writer.add_scalar("confidence/separable", float(report.separable), 0)
    writer.add_text("confidence/verdict", report.verdict, 0)
    run.progress.log(f"confidence: {report.verdict}")
    return report.as_dict()
