"""Executors: local semantics, and Ray-sharded candidate scoring identical to local scoring."""
import json
from pathlib import Path


from nas.config import from_dict, load_recipe, merge, to_dict
from nas.config.search import SearchConfig
from nas.distributed.executor import Executor, LocalExecutor, ShardedScorer, split

TORCH_THREADS = 1  # Ray workers share the 2 cores with this process (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[3]
TINY = ROOT / "recipes" / "search" / "st_topo_tiny.yaml"
# Smaller than st_topo_tiny: seconds per search on one thread, still 2 snapshots and 2 generations.
MICRO = {"data": {"proxy_resolution": 8, "train_size": 64, "val_size": 32, "batch_size": 32},
         "supernet": {"epochs": 1}, "sgld": {"burn_in": 1, "snapshots": 2, "spacing": 1},
         "score": {"bn_batches": 1, "bn_batch_size": 16, "val_images": 32, "eval_batch_size": 32},
         "evolution": {"population": 5, "generations": 1, "parents": 2}}


def micro_config(**top) -> SearchConfig:
    """Return the micro st_topo search config used by the distributed tests."""
    data = merge(merge(to_dict(SearchConfig()), load_recipe(str(TINY))), MICRO)
    return from_dict(SearchConfig, {**data, **top})


def test_split_keeps_order_and_balances():
    assert split(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert split([1, 2], 5) == [[1], [2]]
    assert split([], 3) == [[]]


def test_local_executor_is_an_executor():
    ex = LocalExecutor()
    assert isinstance(ex, Executor)
    off = ex.put(10)
    assert ex.map(lambda chunk, o: [c + o for c in chunk], [[1, 2], [3]], off) == [[11, 12], [13]]


class _Counting(LocalExecutor):
    def __init__(self, workers):
        self.workers, self.puts, self.maps = workers, 0, 0

    def put(self, obj):
        self.puts += 1
        return obj

    def map(self, fn, items, *shared):
        self.maps += 1
        return super().map(fn, items, *shared)


def _search(tmp: Path, score_fn=None) -> dict:
    from nas.search.run import SearchRun

    best = SearchRun(micro_config(), tmp, score_fn=score_fn).run()
    summary = json.loads((tmp / "summary.json").read_text())
    records = [json.loads(line) for line in (tmp / "search.jsonl").read_text().splitlines()]
    return {"best": str(best), "score": summary["score"], "records": records}


def test_sharded_scoring_is_identical_local_and_on_ray(tmp_path, ray_session):
    from nas.distributed.executor import RayExecutor

    class CountingRay(RayExecutor):
        puts = maps = 0

        def put(self, obj):
            CountingRay.puts += 1
            return super().put(obj)

        def map(self, fn, items, *shared):
            CountingRay.maps += 1
            return super().map(fn, items, *shared)

    local = _search(tmp_path / "local")
    counted = _Counting(workers=2)
    sharded_local = _search(tmp_path / "sharded", ShardedScorer(counted))
    on_ray = _search(tmp_path / "ray", ShardedScorer(CountingRay(2)))
    assert sharded_local == local
    assert on_ray == local  # same genotype, same scores per generation, bit for bit
    generations = micro_config().evolution.generations + 1
    # supernet, snapshots, BN batches and validation batches are stored once per search, not per generation
    assert (counted.puts, counted.maps) == (4, generations)
    assert (CountingRay.puts, CountingRay.maps) == (4, generations)
