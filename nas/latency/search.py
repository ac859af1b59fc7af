"""A search's latency limit: its table (given, or built into the run folder), its cost and the final check
on measured time (``nas.latency.verify``)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from nas.latency.budget import LimitCost, parse_latency
from nas.latency.measure import MeasureSpec
from nas.latency.table import LatencyTable, predict_latency

__all__ = ["LatencyLimit", "TABLE_FILE", "LEARNED_FILE", "per_slot_latency"]

TABLE_FILE = "latency_lut.json"  # where a search caches the table it built
LEARNED_FILE = "latency_lut_learned.json"  # that table refined by the final check's timings (a --lut for the next run)


def per_slot_latency(space, table: LatencyTable, names) -> list:
    """Return ``rows[slot][op]``: the table's block time of each op at each slot of a one-op-per-slot space.

    For spaces whose blocks are independent (pv_st), slot ``i`` of the member with ``op`` everywhere holds
    ``op``'s block at slot ``i`` (times the table's calibration scale); a member's prediction is then the
    overhead plus one entry per row.
    """
    from nas.core.target import Target

    t = table.target
    target = Target(t["resolution"], t.get("num_classes", 1000), t.get("frames"))
    keys = [space.latency_blocks(space.freeze({d: op for d in space.dims()}), target) for op in names]
    missing = [k for per in keys for k in per if k not in table.entries]
    if missing:
        from nas.errors import NasError

        raise NasError(f"the latency table has no entry for block {missing[0][:60]!r} (rebuild it with nas-profile)")
    return [[table.scale * table.entries[keys[j][i]] for j in range(len(names))] for i in range(len(keys[0]))]


class LatencyLimit:
    """The latency budget of a search config: predicts from a table, checks the best candidates on the target.

    Args:
        cfg: a search config with ``latency``, ``lut``, ``lut_force``, ``latency_threads``, ``latency_device``.
        space: the searched space; target: the run's cost target.
        out: the run folder: a table built here is cached in it as ``latency_lut.json`` (and reused on resume).
        log: where build progress and notes go.
    """

    def __init__(self, cfg, space, target, out: Path, log: Callable[[str], None] = print):
        from nas.utils.device import resolve_device

        self.budget_ms = parse_latency(cfg.latency, "latency")
        self.space, self.target, self.out = space, target, Path(out)
        self.device = resolve_device(cfg.latency_device)
        self.threads = cfg.latency_threads
        self.built: Optional[LatencyTable] = None
        # the file the final check's timings refine: the user's table when asked, else a learned copy of the run's
        # own (the search itself always predicts from the table it started with, so a resume predicts the same)
        self.learns_into: Optional[Path] = (Path(cfg.lut) if cfg.latency_learn else None) if cfg.lut is not None \
            else self.out / LEARNED_FILE
        if cfg.lut is not None:
            self.table = self._open(cfg.lut, cfg.lut_force, log)
        elif (self.out / TABLE_FILE).exists():
            self.table = self._open(self.out / TABLE_FILE, False, log)
        else:
            self.table = self.built = self._build(log)

    def _open(self, path, force: bool, log) -> LatencyTable:
        from nas.latency.api import open_table

        table, diffs = open_table(str(path), self.space.name, self.target, self.device, self.threads, force)
        for diff in diffs:
            log(f"warning: --lut-force: table {diff}")
        return table

    def _build(self, log) -> LatencyTable:
        """Measure the table of the run's target with a progress bar (the budget's device and threads)."""
        from nas.latency.profile import build_table, calibration_genotypes
        from nas.utils.progress import Progress

        keys = self.space.block_configs(self.target)
        calib = calibration_genotypes(self.space)
        log(f"no --lut: measuring a latency table of {len(keys)} blocks for {self.space.name} at "
            f"{self.target.resolution}px first")
        bar = Progress(len(keys) + len(calib), "latency table")
        try:
            return build_table(self.space.name, self.target, self.device, MeasureSpec(), self.threads, 1, calib,
                               on_step=lambda key: bar.advance())
        finally:
            bar.close()

    def save(self) -> None:
        """Cache a table this run built in its folder."""
        from nas.latency.table import save_table

        if self.built is not None and not (self.out / TABLE_FILE).exists():
            save_table(self.built, self.out / TABLE_FILE)

    def spec(self) -> MeasureSpec:
        """Return how the table was timed (memory format, model form, clock), to measure the result the same way."""
        from nas.latency.api import table_spec

        return table_spec(self.table)

    def predict(self, g) -> float:
        """Return ``g``'s predicted latency (ms)."""
        return predict_latency(g, self.table, self.space)

    def cost(self, madds_fn: Callable, madds: Optional[int]) -> LimitCost:
        """Return the combined cost of this limit and the MAdds limit ``madds`` (None: latency only)."""
        timed = [m for _, m, _ in self.table.overhead_samples]
        return LimitCost(madds_fn, self.predict, madds, self.budget_ms, min(timed) if timed else None)

    def check(self, candidates, rounds: int, out: Path, log: Callable[[str], None] = print):
        """Time ``candidates`` (``(genotype, score)``, best first) on the target; return the one to return.

        Returns ``(genotype, score, record)``: the best-ranked candidate measured within the budget and the
        latency fields of the run's files (``latency_verify`` lists every candidate's figures and verdict).
        What was measured is also written to ``latency_verify.json``; when no candidate is within the budget
        that file stays and a one-line NasError says so (``--resume RUN --verify-k N`` times more).
        """
        from nas.errors import NasError
        from nas.latency.verify import VERIFY_FILE, verify
        from nas.utils.io import atomic_write_json

        chosen, verdicts, seconds = verify(candidates, self, rounds, log)
        report = {"budget_ms": self.budget_ms, "k": len(candidates), "rounds": rounds, "threads": self.threads,
                  "device": self.table.env["device"], "clock": self.spec().clock, "seconds": round(seconds, 2),
                  "candidates": [v.as_dict() for v in verdicts], "returned": chosen,
                  "why": _why(chosen, verdicts)}
        atomic_write_json(self.out / VERIFY_FILE, report)
        self._learn(candidates, verdicts, log)
        if chosen is None:
            fastest = min(verdicts, key=lambda v: v.median_ms)
            undecided = [v for v in verdicts if v.verdict == "undecided"]
            noisy = (f"; {len(undecided)} too close to the budget to decide at this machine's noise (spread up to "
                     f"{max(v.spread_ms for v in undecided):.2f} ms)" if undecided else "")
            raise NasError(f"none of the {len(verdicts)} best candidates ran within {self.budget_ms:g} ms when "
                           f"measured (fastest {fastest.median_ms:.2f} ms, spread {fastest.spread_ms:.2f}){noisy}; "
                           f"figures in {VERIFY_FILE}; time more with --resume {str(self.out)[:100]} "
                           f"--verify-k {min(100, 2 * len(verdicts))}")
        v = verdicts[chosen]
        g, score = candidates[chosen]
        record = {"latency_budget_ms": self.budget_ms, "predicted_latency_ms": v.predicted_ms,
                  "measured_latency_ms": v.median_ms, "measured_latency_spread_ms": v.spread_ms,
                  "latency_threads": self.threads, "latency_device": self.table.env["device"],
                  "latency_verify": report}
        return g, score, record


    def _learn(self, candidates, verdicts, log) -> None:
        """Refine a table with the check's whole-model timings: the --lut file with latency_learn, else a learned
        copy of the run's own table (``latency_lut_learned.json``, made on the first check, refined on later ones).
        This run keeps predicting from the table it started with."""
        if self.learns_into is None:
            return
        from nas.latency.learn import learn_into
        from nas.latency.table import save_table

        if not self.learns_into.exists():
            save_table(self.table, self.learns_into)
        timings = [(g, v.median_ms) for (g, _), v in zip(candidates, verdicts)]
        learn_into(self.learns_into, timings, f"nas-search latency check, {self.out.name[:40]}", log)


def _why(chosen, verdicts) -> str:
    """Return, in words, why the returned candidate is the one returned."""
    if chosen is None:
        return "no candidate was measured within the budget"
    if chosen == 0:
        return "the search's result was measured within the budget"
    skipped = ", ".join(f"#{i + 1} {v.verdict}" for i, v in enumerate(verdicts[:chosen]))
    return f"the best-ranked candidate measured within the budget (before it: {skipped})"
