"""The ST-NAS search pipeline behind ``nas-search --space st_topo``: train, sample with SGLD, evolve.

Phases, each checkpointed atomically so a run killed at any point resumes with ``--resume`` and ends with
the same genotype as an uninterrupted run:

1. supernet: single-path uniform sampling (SPOS), checkpoint after every epoch;
2. sgld: Langevin updates of the shared weights; a burn-in, then K snapshots ``spacing`` steps apart, each
   segment seeded on its own and saved as ``snapshots/<k>.pt``;
3. evolution: budget-constrained evolution; a candidate's score is its mean validation accuracy over the K
   snapshots, BatchNorm recalibrated for it under each; state saved after every generation.
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch

import nas
from nas.config import dump_config, to_dict
from nas.config.search import SearchConfig
from nas.search import RUNNERS
from nas.search.data import ProxyData, build_proxy_data
from nas.search.evolution import Evolution, cost_window, sample_in_window
from nas.search.one_shot import score_genotypes, train_steps
from nas.search.progress import Progress
from nas.utils.io import atomic_torch_save, atomic_write_json, atomic_write_text
from nas.utils.run import run_metadata

__all__ = ["StTopoSearch", "run_st_search"]

CKPT = "checkpoint.pt"
EVO_STATE = "evolution.json"


def _seeded(seed: int, *tags: object) -> random.Random:
    return random.Random("-".join(str(t) for t in (seed, *tags)))


class StTopoSearch:
    """One search run in ``out_dir``; ``run()`` executes (or resumes) every remaining phase.

    ``on_report(metrics)``, if given, receives a dict after every supernet epoch, SGLD snapshot and generation
    (Ray Tune trials forward it to ``tune.report``). ``score_fn`` replaces ``score_genotypes`` with the same
    signature (e.g. a ``nas.distributed.ShardedScorer``); both default to the plain local behaviour.
    """

    def __init__(self, cfg: SearchConfig, out_dir: Path, on_report: Optional[Callable[[dict], None]] = None,
                 score_fn: Optional[Callable] = None):
        self.cfg, self.out = cfg, Path(out_dir)
        self.on_report, self.score_fn = on_report, score_fn or score_genotypes
        self.space = nas.get_space(cfg.space)
        self.budget = cfg.budget
        cost = lambda g: self.space.cost(g, cfg.resolution, cfg.num_classes).madds  # noqa: E731
        self.cost_fn = cost
        # Fails before any training when the budget is below the cheapest member.
        self.lo, self.hi = cost_window(self.space, cost, self.budget, cfg.evolution.min_budget_fraction)

    # -- set-up ------------------------------------------------------------------------------------
    def _build(self) -> None:
        from torch.utils.tensorboard import SummaryWriter

        torch.manual_seed(self.cfg.seed)
        self.data: ProxyData = build_proxy_data(self.cfg)
        self.supernet = nas.create_supernet(self.cfg.space, num_classes=self.data.num_classes,
                                            width=self.cfg.supernet.width,
                                            stem_stride=self.cfg.supernet.stem_stride)
        self.optimizer, self.scheduler = self._optimizer()
        self.tb = SummaryWriter(str(self.out / "tb"))

    def _optimizer(self):
        from nas.optim import create_optimizer, create_scheduler, param_groups_weight_decay

        s = self.cfg.supernet
        groups = param_groups_weight_decay(self.supernet, s.weight_decay)
        kwargs = {"momentum": s.momentum, "nesterov": True} if s.optimizer == "sgd" else {}
        opt = create_optimizer(s.optimizer, groups, lr=s.lr, **kwargs)
        total = max(2, s.epochs * self.data.steps_per_epoch)
        sched = create_scheduler("warmup_cosine", opt, total_steps=total,
                                 warmup_steps=min(total - 1, int(s.warmup_epochs * self.data.steps_per_epoch)))
        return opt, sched

    def _state(self) -> dict:
        path = self.out / CKPT
        return torch.load(path, weights_only=True) if path.is_file() else {"phase": "supernet", "epoch": 0}

    def _save(self, **state) -> None:
        state.update(supernet=self.supernet.state_dict(), optimizer=self.optimizer.state_dict(),
                     scheduler=self.scheduler.state_dict())
        atomic_torch_save(state, self.out / CKPT)

    # -- phases ------------------------------------------------------------------------------------
    def run(self) -> nas.Genotype:
        """Run every remaining phase and write the results; return the best genotype."""
        self.out.mkdir(parents=True, exist_ok=True)
        dump_config(self.cfg, self.out / "config.yaml")
        atomic_write_json(self.out / "meta.json", run_metadata(self.cfg.seed, budget=self.budget))
        self._build()
        state = self._state()
        if "supernet" in state and isinstance(state["supernet"], dict):
            self.supernet.load_state_dict(state["supernet"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
        self.progress = Progress(self._work_units(), "search")
        self.progress.advance(self._done_units(state))
        if state["phase"] == "supernet":
            self._train_supernet(int(state["epoch"]))
            state = {"phase": "sgld", "segment": 0}
        if state["phase"] == "sgld":
            self._sgld(int(state["segment"]))
        best = self._evolve()
        self.progress.close()
        self.tb.close()
        return best

    def _work_units(self) -> int:
        c = self.cfg
        sgld_steps = (c.sgld.burn_in + (c.sgld.snapshots - 1) * c.sgld.spacing) if c.sgld.enabled else 0
        evals = (c.evolution.generations + 1) * c.evolution.population * self._num_snapshots()
        return c.supernet.epochs * self.data.steps_per_epoch + sgld_steps + evals

    def _done_units(self, state: dict) -> int:
        c = self.cfg
        if state["phase"] == "supernet":
            return int(state["epoch"]) * self.data.steps_per_epoch
        done = c.supernet.epochs * self.data.steps_per_epoch
        if state["phase"] == "sgld":
            seg = int(state["segment"])
            done += (c.sgld.burn_in if seg > 0 else 0) + max(0, seg - 1) * c.sgld.spacing
        return done

    def _num_snapshots(self) -> int:
        return self.cfg.sgld.snapshots if self.cfg.sgld.enabled else 1

    def _train_supernet(self, start_epoch: int) -> None:
        s = self.cfg.supernet
        for epoch in range(start_epoch, s.epochs):
            t0 = time.time()
            stats = train_steps(self.supernet, self.data.train_batches(epoch), self.optimizer, self.scheduler,
                                _seeded(self.cfg.seed, "path", epoch), label_smoothing=s.label_smoothing,
                                on_step=lambda loss, acc: self.progress.advance(1), sample=self._sampler())
            self.data.warn_skipped()
            self.tb.add_scalar("supernet/loss", stats["loss"], epoch)
            self.tb.add_scalar("supernet/acc", stats["acc"], epoch)
            self.tb.add_scalar("supernet/lr", self.optimizer.param_groups[0]["lr"], epoch)
            self.progress.log(f"supernet epoch {epoch + 1}/{s.epochs}: loss {stats['loss']:.3f} "
                              f"acc {stats['acc']:.3f} ({time.time() - t0:.0f}s)")
            self._save(phase="supernet", epoch=epoch + 1)
            self._report(phase="supernet", epoch=epoch + 1, loss=stats["loss"], acc=stats["acc"])
        self._save(phase="sgld", segment=0)

    def _sgld(self, start_segment: int) -> None:
        from nas.optim import SGLD

        g = self.cfg.sgld
        snaps = self.out / "snapshots"
        if not g.enabled:
            atomic_torch_save(self.supernet.state_dict(), snaps / "0.pt")
            self._save(phase="evolution")
            return
        for seg in range(start_segment, g.snapshots):
            steps = g.burn_in if seg == 0 else g.spacing
            gen = torch.Generator().manual_seed(hash_seed(self.cfg.seed, "sgld-noise", seg))
            opt = SGLD(self.supernet.parameters(), lr=g.lr, temperature=g.temperature,
                       num_data=self.data.num_train, prior_precision=g.prior_precision, generator=gen)
            stats = train_steps(self.supernet, self.data.cycle_batches(("sgld", seg)), opt, None,
                                _seeded(self.cfg.seed, "sgld-path", seg), steps=steps,
                                on_step=lambda loss, acc: self.progress.advance(1), sample=self._sampler())
            self.tb.add_scalar("sgld/loss", stats["loss"], seg)
            self.tb.add_scalar("sgld/acc", stats["acc"], seg)
            atomic_torch_save(self.supernet.state_dict(), snaps / f"{seg}.pt")
            self.progress.log(f"sgld snapshot {seg + 1}/{g.snapshots}: loss {stats['loss']:.3f} "
                              f"acc {stats['acc']:.3f}")
            self._save(phase="sgld" if seg + 1 < g.snapshots else "evolution", segment=seg + 1)
            self._report(phase="sgld", snapshot=seg + 1, loss=stats["loss"], acc=stats["acc"])

    def _sampler(self):
        """Return the path sampler: inside the cost window (default) or uniform over the space (SPOS)."""
        if self.cfg.supernet.sampling == "uniform":
            return None
        return lambda rng: sample_in_window(self.space, self.cost_fn, self.lo, self.hi, rng,
                                            self.cfg.evolution.max_tries)

    def _snapshots(self) -> List[Dict[str, torch.Tensor]]:
        return [torch.load(self.out / "snapshots" / f"{k}.pt", weights_only=True)
                for k in range(self._num_snapshots())]

    def _evolve(self) -> nas.Genotype:
        e = self.cfg.evolution
        evo = Evolution(self.space, self.cost_fn, lo=self.lo, hi=self.hi, population=e.population, parents=e.parents,
                        mutation_prob=e.mutation_prob, crossover_share=e.crossover_share, max_tries=e.max_tries,
                        rng=_seeded(self.cfg.seed, "evolution"))
        records: List[dict] = []
        state_path = self.out / EVO_STATE
        if state_path.is_file():
            saved = json.loads(state_path.read_text())
            evo.load_state_dict(saved["strategy"])
            records = saved["records"]
            self.progress.advance(evo.generation * e.population * self._num_snapshots())
        snapshots = self._snapshots()
        bn, val = self.data.score_batches()
        while evo.generation <= e.generations:
            batch = evo.ask()
            per = self.score_fn(self.supernet, batch, snapshots, bn, val, on_done=lambda: self.progress.advance(1))
            scores = [sum(row) / len(row) for row in per]
            evo.tell(list(zip(batch, scores)))
            records.append(self._record(evo, scores, per))
            atomic_write_json(state_path, {"strategy": evo.state_dict(), "records": records})
            atomic_write_text(self.out / "search.jsonl", "".join(json.dumps(r) + "\n" for r in records))
            self._report(phase="evolution", **{k: v for k, v in records[-1].items() if k != "best_genotype"})
        self.supernet.load_state_dict(snapshots[-1])
        return self._finish(evo, records)

    def _report(self, **metrics) -> None:
        if self.on_report is not None:
            self.on_report(metrics)

    def _record(self, evo: Evolution, scores: List[float], per: List[List[float]]) -> dict:
        best = evo.best()
        spread = sum(float(torch.tensor(r).std()) if len(r) > 1 else 0.0 for r in per) / len(per)
        rec = {"generation": evo.generation - 1, "best_score": best.score, "best_madds": best.madds,
               "mean_score": sum(scores) / len(scores), "snapshot_spread": spread,
               "best_genotype": str(best.genotype), "evaluated": len(evo.history)}
        step = rec["generation"]
        for key in ("best_score", "best_madds", "mean_score", "snapshot_spread"):
            self.tb.add_scalar(f"search/{key}", rec[key], step)
        self.progress.log(f"generation {step}/{self.cfg.evolution.generations}: best {best.score:.4f} "
                          f"at {best.madds / 1e6:.1f}M MAdds, mean {rec['mean_score']:.4f}")
        return rec

    def _finish(self, evo: Evolution, records: List[dict]) -> nas.Genotype:
        cfg, best = self.cfg, evo.best()
        cost = self.space.cost(best.genotype, cfg.resolution, cfg.num_classes)
        nas.save_genotype(best.genotype, self.out / "genotype.yaml", madds=cost.madds, params=cost.params,
                          resolution=cfg.resolution, num_classes=cfg.num_classes, score=best.score, seed=cfg.seed,
                          budget=self.budget)
        atomic_torch_save(self.supernet.state_dict(), self.out / "supernet.pt")
        top = [{"genotype": str(i.genotype), "score": i.score, "madds": i.madds} for i in evo.top(5)]
        atomic_write_json(self.out / "summary.json", {
            "space": cfg.space, "genotype": str(best.genotype), "score": best.score, "madds": cost.madds,
            "params": cost.params, "budget": self.budget, "budget_use": cost.madds / self.budget,
            "resolution": cfg.resolution, "seed": cfg.seed, "evaluated": len(evo.history),
            "generations": len(records), "top5": top, "config": to_dict(cfg),
        })
        self._save(phase="done")
        return best.genotype


def hash_seed(*parts: object) -> int:
    """Return a stable 63-bit seed derived from ``parts`` (Python's hash() is salted per process)."""
    return random.Random("-".join(map(str, parts))).getrandbits(63)


def run_st_search(args) -> int:
    """Resolve the config from CLI arguments, run the search and print where the results are."""
    from nas.search.st_config import resolve_config

    cfg, out = resolve_config(args)
    best = StTopoSearch(cfg, out).run()
    summary = json.loads((out / "summary.json").read_text())
    print(f"best genotype: {best}")
    print(f"score {summary['score']:.4f}, {summary['madds'] / 1e6:.1f}M MAdds "
          f"({100 * summary['budget_use']:.1f}% of budget), {summary['params'] / 1e6:.2f}M params")
    print(f"run folder: {out}")
    return 0


RUNNERS.add("st_topo", run_st_search)
