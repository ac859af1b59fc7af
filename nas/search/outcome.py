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
    (their scores are those of the search) and on the held-out images (the separability test); the final
    population (the best ``confidence.population`` seen) is scored again under a second SGLD chain and under
    ``confidence.supernets - 1`` supernets trained with other seeds (``confidence/supernet<k>/``, kept so that
    a resumed run does not train them again).
    """
    import time

    from nas.search import confidence as conf

    start = time.perf_counter()
    c, writer, log = run.cfg.confidence, run.writer, run.progress.log
    returned = str(getattr(run, "result_genotype", strategy.best().genotype))
    ranked = strategy.top(max(c.top_k, run.cfg.finalists.k))
    first = [i for i in ranked if str(i.genotype) == returned]  # a finalist may outrank the supernet's best
    top = (first + [i for i in ranked if str(i.genotype) != returned])[:c.top_k]
    genotypes = [i.genotype for i in top]
    tables = [t.numpy() for t in scorer.hit_tables(genotypes)]
    held, on = None, "scoring"
    if c.separate_on == "held_out" and len(top) > 1:
        batches = scorer.held_out_batches()
        if batches:
            held, on = [t.numpy() for t in scorer.hit_tables(genotypes, batches=batches)], "held_out"
        else:
            log("confidence: no validation images beyond score.val_images, so separability is tested on the "
                "scoring images that ranked the top-k (biased towards the winner)")
    costs = [run._cost(g) for g in genotypes]
    block = c.block or conf.default_block(scorer.num_snapshots)
    cands = conf.assess([str(g) for g in genotypes], tables, [x.madds for x in costs], [x.params for x in costs],
                        level=c.level, resamples=c.resamples, seed=run.cfg.seed, block=block, held_out=held)
    pop = strategy.top(c.population or run.cfg.evolution.population)
    tau = None
    if c.second_chain and run.cfg.sgld.enabled:
        log("confidence: scoring the final population under a second SGLD chain")
        # Scored here, not through the run's score_fn: the report stays local, like the top-k's hit tables.
        second = [float(t.float().mean()) for t in
                  scorer.hit_tables([i.genotype for i in pop], snapshots=scorer.second_chain())]
        tau = conf.chain_stability([i.score for i in pop], second, level=c.level, resamples=c.resamples,
                                   seed=run.cfg.seed)
    spread, cands = _supernet_spread(run, scorer, pop, top, cands, log)
    report = conf.Confidence(c.level, cands, tau, conf.verdict(cands, c.level, tau, spread, held is not None),
                             spread, conf.effective_snapshots(tables[0].mean(axis=1)), block, on,
                             time.perf_counter() - start)
    for rank, cand in enumerate(cands):
        writer.add_scalar("confidence/score", cand.score, rank)
        writer.add_scalar("confidence/scoring_se", cand.scoring_se, rank)
        writer.add_scalar("confidence/madds", cand.madds, rank)
    if tau is not None:
        for key, value in (("tau", tau.tau), ("tau_low", tau.low), ("tau_high", tau.high)):
            writer.add_scalar(f"confidence/chain_{key}", value, 0)
    for k, t in enumerate(spread.taus, 1):
        writer.add_scalar("confidence/supernet_tau", t.tau, k)
    writer.add_scalar("confidence/separable", float(report.separable), 0)
    writer.add_scalar("confidence/seconds", report.seconds, 0)
    writer.add_text("confidence/verdict", report.verdict, 0)
    log(f"confidence: {report.verdict}")
    return report.as_dict()


class _Lines:
    """A progress stand-in for a report's extra supernet: its lines reach the run's log, its steps no bar."""

    def __init__(self, log):
        self.log = log

    def advance(self, n: int = 1) -> None:
        """Ignore the steps: the run's bar counts the search, not the report."""


def _supernet_spread(run, scorer, pop, top, cands, log):
    """Score the population and the top-k under ``confidence.supernets - 1`` other supernets; return the spread
    (tau of each to the run's own ranking) and the candidates with their rank and score under every supernet."""
    import dataclasses
    import time

    from nas.search import confidence as conf
    from nas.search.progress import Hooks
    from nas.utils.stats import kendall_tau_ci

    c = run.cfg.confidence
    names = [str(i.genotype) for i in pop]
    extra = [i for i in top if str(i.genotype) not in names]  # a finalist outside the population still gets a rank
    members = pop + extra
    where = {str(i.genotype): n for n, i in enumerate(members)}
    idx = [where[cand.genotype] for cand in cands]
    per_supernet = [[i.score for i in members]]  # the run's own supernet: the search's scores
    taus = []
    start = time.perf_counter()
    for k in range(1, c.supernets):
        sib = scorer.sibling(k)
        log(f"confidence: training supernet {k + 1}/{c.supernets} (another seed) for the supernet-seed spread")
        sib.prepare(Hooks(progress=_Lines(lambda line, k=k: log(f"confidence supernet {k + 1}: {line}"))))
        scores = [float(t.float().mean()) for t in sib.hit_tables([i.genotype for i in members])]
        per_supernet.append(scores)
        taus.append(kendall_tau_ci(per_supernet[0][: len(pop)], scores[: len(pop)], level=c.level,
                                   resamples=c.resamples, seed=run.cfg.seed))
    ranks = [conf.ranks_in(s, idx) for s in per_supernet]
    cands = [dataclasses.replace(cand, supernet_ranks=[r[n] for r in ranks],
                                 supernet_scores=[s[idx[n]] for s in per_supernet])
             for n, cand in enumerate(cands)]
    return conf.SupernetSpread(c.supernets, taus, time.perf_counter() - start), cands
