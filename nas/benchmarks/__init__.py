"""Tabular benchmarks: measured accuracies of every member of a space, read from a file, never downloaded."""
from nas.benchmarks.tabular import Benchmark, Table, TableSource, load_table, resolve_benchmark

__all__ = ["Benchmark", "Table", "TableSource", "load_table", "resolve_benchmark"]
