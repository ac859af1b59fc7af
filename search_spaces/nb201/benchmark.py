"""The NAS-Bench-201 table shipped with nb201: 12-epoch accuracies on three datasets, 200-epoch on CIFAR-10.

See ``data/README.md`` for the sources, licences and caveats. The ``test_200ep`` report is one seed of an
independent 200-epoch training (AnalogNAS-Bench's digital baseline); it has no validation split, so a search
never sees it.
"""
from pathlib import Path

from nas.benchmarks import Benchmark, TableSource

__all__ = ["TABLE"]

TABLE = TableSource(
    path=str(Path(__file__).with_name("data") / "nb201_cifar10_imagenet16.csv"),
    key="arch",
    benchmarks=(
        Benchmark("cifar10", "c10_valid_12ep",
                  (("test_12ep", "c10_test_12ep"), ("test_200ep", "c10_test_200ep_analog"))),
        Benchmark("cifar100", "c100_valid_12ep", (("test_12ep", "c100_test_12ep"),)),
        Benchmark("imagenet16", "in16_valid_12ep", (("test_12ep", "in16_test_12ep"),)),
    ),
)
