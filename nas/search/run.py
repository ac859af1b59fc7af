"""One search run for every space and strategy: run folder, phases, checkpoints, progress and one result schema.

``SearchRun(cfg, out, device)`` only stores its arguments. ``check()`` picks the strategy (``cfg.strategy`` or
the space's default) and the search family that runs it (``nas.search.families``) and validates everything
before any folder is written, measuring nothing. ``run()`` checks, opens the folder, measures the latency
table of a latency budget when none is given, lets the family build the scorer and strategy, runs the
scorer's preparation phases (supernet training and SGLD for the one-shot scorer), then drives the
strategy's ask/tell loop (with the family's work before each ask) until it is done, and writes the results.
Everything is checkpointed atomically in ``checkpoint.pt``, so a run killed at any point and continued with
``--resume`` ends exactly as an uninterrupted one.

Run folder: ``config.yaml``, ``meta.json``, ``checkpoint.pt``, ``search.jsonl`` (one row per round),
``tb/``, and at the end ``genotype.yaml``, ``supernet.pt`` and ``summary.json``. The rows and the summary
share their key names for every space: ``genotype``, ``score`` (a fraction in [0, 1]), ``madds``,
``params``; the summary adds ``space``, ``strategy``, ``seed``, ``budget`` (and ``budget_use``), ``top5``, and for
the one-shot strategies ``confidence`` (top-k with bootstrap errors, two-chain rank stability, a verdict).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch

from nas.config import config_dict, dump_config
from nas.core.genotype import Genotype
from nas.errors import NasError
from nas.search.families import Family, create_family, resolve_family, resolve_strategy
from nas.search.progress import Hooks, Progress
from nas.train.checkpoint import load_state, save_checkpoint
from nas.utils.io import atomic_write_json, atomic_write_text
from nas.utils.run import RunFolder
from nas.utils.tb_events import trim_events

__all__ = ["SearchRun", "resolve_strategy", "config_class", "CHECKPOINT"]

CHECKPOINT = "checkpoint.pt"


def config_class(plugin) -> type:
    """Return the search config class (one for every space; kept for callers that ask by plugin)."""
    del plugin
    from nas.config.search import SearchConfig

    return SearchConfig


class SearchRun:
    """One search in ``out``; ``run()`` executes (or resumes) every remaining phase and returns the genotype.

    Args:
        cfg: the typed search config (``nas.config.search.SearchConfig``).
        out: the run folder.
        device: where supernets train and score (the CLI passes ``resolve_device``'s choice).
        on_report: receives a dict after every supernet epoch, SGLD snapshot and search round (Ray Tune).
        score_fn: replaces the one-shot ``score_genotypes`` (same signature), e.g. a ``ShardedScorer``.
    """

    def __init__(self, cfg, out: Path, device: torch.device = torch.device("cpu"),
                 on_report: Optional[Callable[[dict], None]] = None, score_fn: Optional[Callable] = None):
        self.cfg, self.out, self.device = cfg, Path(out), torch.device(device)
        self.on_report, self.score_fn = on_report, score_fn
        self.folder: Optional[RunFolder] = None
        self.resuming = False
        self.family: Optional[Family] = None  # set by check()
        self.latency = None  # the run's LatencyLimit: opened by check() when a table is at hand, else built by run()

    @property
    def plugin(self):
        """Return the space plugin of the config's space."""
        from nas.plugins import get_plugin

        return get_plugin(self.cfg.space)

    @property
    def space(self):
        """Return the searched space."""
        return self.plugin.space

    def check(self) -> None:
        """Validate config and space, strategy and family, budget, latency options and benchmark table.

        Writes nothing and measures nothing: a latency table still to be measured is checked once built.
        """
        from nas.latency.search import TABLE_FILE

        self.cfg.validate()
        self.strategy_name = resolve_strategy(self.plugin, self.cfg.strategy, self.cfg)
        self.family = create_family(resolve_family(self.plugin, self.strategy_name, self.cfg))
        if self._latency_configured() and (self.cfg.lut is not None or (self.out / TABLE_FILE).exists()):
            self.latency = self._latency_limit()  # opened, not measured: a bad or foreign table fails here
        self.family.check(self)

    def madds_fn(self, g: Genotype) -> int:
        """Return the MAdds of ``g`` at the run's target."""
        return self.space.cost(g, self.cfg.resolution, self.cfg.num_classes).madds

    def _latency_configured(self) -> bool:
        return getattr(self.cfg, "latency", None) is not None

    def _latency_limit(self):
        """Return the run's ``LatencyLimit``: a given or cached table is opened, a missing one is measured."""
        from nas.latency.search import LatencyLimit

        frames = {"frames": self.cfg.frames} if self.plugin.modality == "video" else {}
        target = self.space.target(resolution=self.cfg.resolution, num_classes=self.cfg.num_classes, **frames)
        return LatencyLimit(self.cfg, self.space, target, self.out, log=lambda line: print(line, file=sys.stderr))

    def _measure_latency(self) -> None:
        """Build the latency table a latency budget needs (cached in the folder), then check the window with it."""
        if self._latency_configured() and self.latency is None:
            self.latency = self._latency_limit()
            self.latency.save()
            self.family.check(self)  # the latency window, now that the table exists

    # -- folder --------------------------------------------------------------------------------------
    def open(self, resume: Optional[bool] = None) -> RunFolder:
        """Create the run folder (``resume=False``), reopen it (True) or pick by what it holds (None)."""
        if self.folder is not None:
            return self.folder
        if self.family is None:
            self.check()
        if resume is None:
            resume = RunFolder.kind_of(self.out) == "search"
        self.resuming = bool(resume)
        if resume:  # the resume record is appended once the checkpoint has loaded (a failed resume changes nothing)
            self.folder = RunFolder.reopen(self.out, "search")
        else:
            self.folder = RunFolder.create(self.out, "search")
            dump_config(self.cfg, self.out / "config.yaml")
            self.folder.write_meta(self.cfg.seed, budget=self.cfg.madds, strategy=self.strategy_name,
                                   device=str(self.device))
        return self.folder

    # -- the run -------------------------------------------------------------------------------------
    def run(self, resume: Optional[bool] = None) -> Genotype:
        """Run every remaining phase and write the results; return the best genotype."""
        from torch.utils.tensorboard import SummaryWriter

        self.check()
        self.open(resume)
        self.t0 = time.time()
        self.writer = None
        self.progress = None
        try:
            state = self._read_checkpoint()  # a torn checkpoint fails here, before any work or any write
            self._measure_latency()
            self.setup = self.family.build(self)
            self._load(state)
            if self.resuming:
                self.folder.record_resume()
                # what the interrupted process logged after its last checkpoint is logged again below
                trim_events(self.out / "tb", state.get("tb_time", float("-inf")))
            self.progress = Progress(0, f"search {self.cfg.space}")
            self.writer = SummaryWriter(str(self.out / "tb"))
            self.hooks = Hooks(self.progress, self.writer, self.on_report, self._save_prep)
            self.progress.set_total(self._total_units())
            self._prepare(state)
            self._search(state.get("search"))
            return self._finish()
        finally:
            if self.progress is not None:
                self.progress.close()
            if self.writer is not None:
                self.writer.close()

    def _read_checkpoint(self) -> dict:
        path = self.out / CHECKPOINT
        state = load_state(path, "search checkpoint") if path.is_file() else {"phase": None, "position": 0}
        if not isinstance(state, dict) or "phase" not in state:
            raise NasError(f"{str(path)[:120]} is not a search checkpoint written by nas")
        return state

    def _load(self, state: dict) -> None:
        if "prep" in state:
            self.setup.scorer.load_state_dict(state["prep"])

    def _total_units(self) -> int:
        return self.setup.scorer.prep_units() + self.setup.strategy.total_rounds * self.setup.round_units

    def _checkpoint(self, state: dict) -> None:
        """Save ``state`` with the wall time up to which the TensorBoard events belong to it."""
        if self.writer is not None:
            self.writer.flush()
        save_checkpoint(self.out / CHECKPOINT, {**state, "tb_time": time.time()})

    def _save_prep(self, phase: str, position: int) -> None:
        self._checkpoint({"phase": phase, "position": position, "prep": self.setup.scorer.state_dict()})

    def _prepare(self, state: dict) -> None:
        """Run the scorer's preparation phases from where the checkpoint stopped."""
        phases = self.setup.scorer.phases()
        names = [n for n, _ in phases]
        phase, position = state["phase"], int(state.get("position", 0))
        if phase in (None, *names):
            start = 0 if phase is None else names.index(phase)
            self.progress.advance(self.setup.scorer.prep_done(phase, position) if phase else 0)
            for i, (name, fn) in enumerate(phases[start:], start):
                fn(position if i == start else 0, self.hooks)
                if i + 1 < len(names):
                    self._save_prep(names[i + 1], 0)
                else:
                    self._save_search([], 0, {})
        elif phases:
            self.progress.advance(self.setup.scorer.prep_units())

    # -- ask / tell ----------------------------------------------------------------------------------
    def _save_search(self, records: List[dict], evaluated: int, spreads: Dict[str, float]) -> None:
        search = {"strategy": self.setup.strategy.state_dict(), "family": self.setup.state_dict(),
                  "records": records, "evaluated": evaluated, "spreads": spreads}
        self._checkpoint({"phase": "search", "position": len(records), "search": search})

    def _search(self, saved: Optional[dict]) -> None:
        strategy, scorer = self.setup.strategy, self.setup.scorer
        records, evaluated, spreads = [], 0, {}
        if saved is not None:
            strategy.load_state_dict(saved["strategy"])
            self.setup.load_state_dict(saved)
            records, evaluated, spreads = list(saved["records"]), int(saved["evaluated"]), dict(saved["spreads"])
            self.progress.advance(len(records) * self.setup.round_units)
        while not strategy.done:
            if self.setup.before_ask is not None:
                self.setup.before_ask()
            batch = strategy.ask()
            per = scorer(batch, on_done=lambda: self.progress.advance(1))
            scores = [sum(row) / len(row) for row in per]
            strategy.tell(list(zip(batch, scores)))
            evaluated += len(batch)
            if self.setup.spread:
                spreads.update({str(g): _std(row) for g, row in zip(batch, per)})
            records.append(self._record(len(records), scores, per, evaluated))
            self._save_search(records, evaluated, spreads)
            atomic_write_text(self.out / "search.jsonl", "".join(json.dumps(r) + "\n" for r in records))
            self.hooks.report(phase="search", **{k: v for k, v in records[-1].items() if k != "genotype"})
        self.spreads = spreads
        self.records = records

    def _record(self, step: int, scores: List[float], per: List[List[float]], evaluated: int) -> dict:
        """Return one search.jsonl row: the strategy's pick after this round, its cost and the round's stats."""
        strategy = self.setup.strategy
        best = strategy.best()
        cost = self._cost(best.genotype)  # not best.madds: under a latency limit that is the combined cost
        rec = {"round": step, **strategy.info, "genotype": str(best.genotype), "score": best.score,
               "madds": cost.madds, "params": cost.params,
               "mean_score": sum(scores) / len(scores), "evaluated": evaluated}
        if self.setup.spread:
            rec["snapshot_spread"] = sum(_std(r) for r in per) / len(per)
        tags = {"best_score": "score", "best_madds": "madds", "mean_score": "mean_score",
                "snapshot_spread": "snapshot_spread"}
        for tag, key in tags.items():
            if key in rec:
                self.writer.add_scalar(f"search/{tag}", rec[key], step)
        if self.setup.log_round is not None:
            self.setup.log_round(self.writer, step, strategy.info, scores[0])
        lat = f", {self.latency.predict(best.genotype):.2f} ms" if self.latency is not None else ""
        self.progress.log(f"round {step + 1}/{strategy.total_rounds}: best {best.score:.4f} at "
                          f"{cost.madds / 1e6:.1f}M MAdds{lat}, mean {rec['mean_score']:.4f}")
        return rec

    # -- results -------------------------------------------------------------------------------------
    def _cost(self, g: Genotype):
        kw = {"frames": self.cfg.frames} if self.plugin.modality == "video" else {}
        return self.space.cost(g, resolution=self.cfg.resolution, num_classes=self.setup.num_classes, **kw)

    def _finish(self) -> Genotype:
        from nas.spaces import save_genotype

        cfg, setup = self.cfg, self.setup
        g, score = setup.choose() if setup.choose is not None else setup.strategy.result()
        self.result_genotype = g
        if score is None:
            row = setup.scorer([g])[0]
            score = sum(row) / len(row)
        extra = {"frames": cfg.frames} if self.plugin.modality == "video" else {}
        if self.latency is not None:  # the budget holds on measured time: the best candidates are timed
            g, score, self.latency_result = self.latency.check(self._candidates(g, score), cfg.latency_verify_rounds,
                                                               self.out, log=self.progress.log)
            self.result_genotype = g
            extra.update(self.latency_result)
        c = self._cost(g)
        save_genotype(g, self.out / "genotype.yaml", madds=c.madds, params=c.params, resolution=cfg.resolution,
                          num_classes=setup.num_classes, **extra, score=score, seed=cfg.seed, budget=cfg.madds,
                          strategy=self.strategy_name)
        weights = setup.final_weights()
        if weights is not None:  # a tabular search trains nothing
            save_checkpoint(self.out / "supernet.pt", weights)
        atomic_write_json(self.out / "summary.json", self._summary(g, score, c))
        return g

    def _candidates(self, g: Genotype, score: Optional[float]) -> List[tuple]:
        """Return the K candidates a latency budget is checked on: the result, then the strategy's ranking."""
        out, k = [(g, score)], self.cfg.latency_verify_k
        ranked = self.setup.ranked or (lambda n: [(i.genotype, i.score) for i in self.setup.strategy.top(n)])
        for other, other_score in ranked(k + 1):
            if len(out) < k and all(other != o for o, _ in out):
                out.append((other, other_score))
        return out

    def _summary(self, g: Genotype, score: float, c) -> dict:
        cfg, budget = self.cfg, self.cfg.madds
        top = [{"genotype": str(i.genotype), "score": i.score, "madds": self._cost(i.genotype).madds,
                **({"spread": self.spreads.get(str(i.genotype), 0.0)} if self.setup.spread else {})}
               for i in self.setup.strategy.top(5)]
        out = {"space": cfg.space, "strategy": self.strategy_name, "genotype": str(g), "score": score,
               "madds": c.madds, "params": c.params, "budget": budget}
        if budget is not None:
            out["budget_use"] = c.madds / budget
        if self.latency is not None:
            out.update(self.latency_result)
        out.update({"resolution": cfg.resolution, "num_classes": self.setup.num_classes, "seed": cfg.seed,
                    "evaluated": self.records[-1]["evaluated"] if self.records else 0, "rounds": len(self.records),
                    "top5": top, **self.setup.summary_extra(), "seconds": round(time.time() - self.t0, 1),
                    "config": config_dict(cfg)})
        return out


def _std(row: List[float]) -> float:
    return float(torch.tensor(row).std()) if len(row) > 1 else 0.0
