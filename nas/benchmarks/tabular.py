"""A tabular benchmark: one CSV row of measured accuracies per member of a space, looked up by genotype.

A space plugin that has such a table names a :class:`TableSource` (its ``benchmarks`` field): the file shipped
with the package, the column holding the genotype string, and the benchmarks the table carries, each a
validation column (what a search may see) and its report columns (what is reported for the returned genotype
only). ``load_table`` reads and checks the file; a missing, unreadable or malformed file is a one-line error.
"""
from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.errors import NasError

__all__ = ["Benchmark", "TableSource", "Table", "load_table", "resolve_benchmark"]


@dataclass(frozen=True)
class Benchmark:
    """One dataset of a table: the validation column a search sees and the test columns it may report."""

    name: str  # e.g. "cifar10"
    valid: str  # the column a strategy is scored on
    reports: Tuple[Tuple[str, str], ...]  # (report name, column), e.g. ("test_12ep", "c10_test_12ep")

    def report_column(self, report: str) -> str:
        """Return the column of report ``report``; a one-line error when this benchmark has none."""
        columns = dict(self.reports)
        if report not in columns:
            raise NasError(f"benchmark.report {report[:40]!r} is not available for {self.name} "
                           f"(available: {', '.join(columns)})")
        return columns[report]


@dataclass(frozen=True)
class TableSource:
    """Where a space's table lives and what it holds."""

    path: str  # the file shipped with the package
    key: str  # the column holding each member's genotype string (any form the space's ``parse`` takes)
    benchmarks: Tuple[Benchmark, ...]

    def get(self, name: str) -> Benchmark:
        """Return benchmark ``name``; a one-line error naming the known ones."""
        for b in self.benchmarks:
            if b.name == name:
                return b
        raise NasError(f"unknown benchmark {str(name)[:40]!r} (known: {', '.join(b.name for b in self.benchmarks)})")

    def columns(self) -> List[str]:
        """Return every value column the benchmarks use."""
        out: List[str] = []
        for b in self.benchmarks:
            for col in (b.valid, *(c for _, c in b.reports)):
                if col not in out:
                    out.append(col)
        return out


class Table:
    """Measured values per member: ``value(genotype, column)``; keys are canonical genotype strings."""

    def __init__(self, path: Path, rows: Dict[str, Tuple[float, ...]], columns: Sequence[str]):
        self.path, self.rows, self.columns = path, rows, tuple(columns)
        self._index = {c: i for i, c in enumerate(self.columns)}

    def __len__(self) -> int:
        return len(self.rows)

    def value(self, g: Genotype, column: str) -> float:
        """Return ``g``'s value in ``column``."""
        try:
            return self.rows[str(g)][self._index[column]]
        except KeyError:
            raise NasError(f"{str(g)[:80]} has no value in column {column!r} of {self.path}") from None

    def column(self, column: str) -> Dict[str, float]:
        """Return ``{canonical genotype string: value}`` for one column."""
        i = self._index[column]
        return {k: row[i] for k, row in self.rows.items()}


def _parse_row(space: Space, row: Dict[str, str], key: str, columns: Sequence[str], where: str) -> Tuple[str, tuple]:
    try:
        g = space.parse(row[key])
    except NasError:
        raise NasError(f"{where}: {row[key][:60]!r} is not a genotype of {space.name}") from None
    problem = space.contains(g)
    if problem:
        raise NasError(f"{where}: {problem[:120]}")
    values = []
    for col in columns:
        try:
            values.append(float(row[col]))
        except (TypeError, ValueError):
            raise NasError(f"{where}: column {col!r} is not a number: {str(row[col])[:30]!r}") from None
    return str(g), tuple(values)


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime: float, space: Space, key: str, columns: Tuple[str, ...]) -> Table:
    del mtime  # part of the cache key only: an edited file is read again
    rows: Dict[str, Tuple[float, ...]] = {}
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in (key, *columns) if c not in (reader.fieldnames or [])]
            if missing:
                raise NasError(f"malformed benchmark table {path}: missing column(s) {', '.join(missing)[:120]}")
            for n, row in enumerate(reader, 2):
                k, values = _parse_row(space, row, key, columns, f"malformed benchmark table {path} line {n}")
                if k in rows:
                    raise NasError(f"malformed benchmark table {path} line {n}: {k[:80]} appears twice")
                rows[k] = values
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise NasError(f"cannot read benchmark table {path}: {type(exc).__name__}: {str(exc)[:120]}") from None
    if len(rows) != space.size():
        raise NasError(f"malformed benchmark table {path}: it covers {len(rows)} of the {space.size()} members "
                       f"of {space.name}")
    return Table(Path(path), rows, columns)


def load_table(space: Space, source: TableSource, path: Optional[str] = None) -> Table:
    """Read and check ``source``'s table, from ``path`` when given (a user's copy), else the shipped file."""
    file = Path(path if path is not None else source.path).expanduser()
    if not file.is_file():
        raise NasError(f"benchmark table not found: {str(file)[:200]}")
    return _load(str(file), os.path.getmtime(file), space, source.key, tuple(source.columns()))


def resolve_benchmark(plugin, name: str, report: str) -> Tuple[TableSource, Benchmark, str]:
    """Return the table source, benchmark and report column of ``name`` on ``plugin``'s space (checked)."""
    source = plugin.table_source()
    if source is None:
        raise NasError(f"--benchmark needs a space with a benchmark table; space {plugin.name!r} has none")
    bench = source.get(name)
    return source, bench, bench.report_column(report)

