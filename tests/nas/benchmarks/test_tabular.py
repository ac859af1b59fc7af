"""The NAS-Bench-201 table: shipped, complete, and its reference statistics; malformed copies are one-line errors."""
import csv

import pytest

import nas
from nas.benchmarks import load_table, resolve_benchmark

PLUGIN = nas.get_plugin("nb201")
SHIPPED = PLUGIN.table_source().path
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def table():
    return load_table(PLUGIN.space, PLUGIN.table_source())


def test_shipped_table_matches_the_data_readme(table):
    assert len(table) == 15625
    valid = table.column("c10_valid_12ep")
    top = max(valid, key=valid.get)
    assert top == str(nas.load_genotype(BEST)) == str(nas.load_genotype("nb201:best_c10"))
    assert valid[top] == 84.892
    assert table.value(nas.load_genotype(BEST), "c10_test_200ep_analog") == 94.0664
    assert max(table.column("c10_test_200ep_analog").values()) == 94.0664
    # The 341 cut-off cells sit at the floor in every column.
    cut = [k for k in valid if not PLUGIN.space.is_connected(PLUGIN.space.parse(k))]
    assert len(cut) == 341 and {table.column("c10_test_12ep")[k] for k in cut} == {10.0}


def test_resolve_checks_name_report_and_space():
    _, bench, test = resolve_benchmark(PLUGIN, "cifar10", "test_200ep")
    assert (bench.valid, test) == ("c10_valid_12ep", "c10_test_200ep_analog")
    with pytest.raises(nas.NasError, match="unknown benchmark 'mnist'"):
        resolve_benchmark(PLUGIN, "mnist", "test_12ep")
    with pytest.raises(nas.NasError, match="not available for cifar100"):
        resolve_benchmark(PLUGIN, "cifar100", "test_200ep")
    with pytest.raises(nas.NasError, match="space 'st_topo' has none"):
        resolve_benchmark(nas.get_plugin("st_topo"), "cifar10", "test_12ep")


def _copy(tmp_path, edit=None, rows=None):
    with open(SHIPPED, newline="") as f:
        data = list(csv.reader(f))
    data = data if rows is None else data[:rows]
    if edit:
        edit(data)
    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(data)
    return str(path)


def _set(row, col, value):
    def edit(data):
        data[row][data[0].index(col)] = value
    return edit


@pytest.mark.parametrize("case, match", [
    ("missing", "benchmark table not found"),
    ("column", "missing column"),
    ("number", "line 3: column 'c10_valid_12ep' is not a number: 'abc'"),
    ("key", "line 2: .* is not a genotype of nb201"),
    ("op", "line 2: choice n1_0='conv_9x9' is not allowed"),
    ("short", "covers 9 of the 15625"),
    ("duplicate", "appears twice"),
])
def test_malformed_tables_are_one_line_errors(tmp_path, case, match):
    arch = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    path = {
        "missing": lambda: str(tmp_path / "nope.csv"),
        "column": lambda: _copy(tmp_path, lambda d: d[0].__setitem__(2, "valid"), rows=5),
        "number": lambda: _copy(tmp_path, _set(2, "c10_valid_12ep", "abc")),
        "key": lambda: _copy(tmp_path, _set(1, "arch", "|x|")),
        "op": lambda: _copy(tmp_path, _set(1, "arch", arch.replace("avg_pool_3x3~0", "conv_9x9~0"))),
        "short": lambda: _copy(tmp_path, rows=10),
        "duplicate": lambda: _copy(tmp_path, _set(2, "arch", arch)),
    }[case]()
    with pytest.raises(nas.NasError, match=match) as err:
        load_table(PLUGIN.space, PLUGIN.table_source(), path)
    assert "\n" not in str(err.value) and len(str(err.value)) < 300
