"""The flag tables: one row per flag drives the parser, the config keys and the refusals of every command."""
import argparse

import pytest

from nas.cli import derive, profile, retrain, search
from nas.cli.flags import Flag, add_flags, check_resume, config_flags
from nas.errors import NasError

TABLE = (
    Flag("--seed", "random seed", key="seed", type=int),
    Flag("--madds", "budget", key="madds", modality="image"),
    Flag("--flops", "budget", key="madds", modality="video"),
    Flag("--device", "where", key="execution.device", resume=True),
    Flag("--fast", "a switch", key="fast", type=bool),
    Flag("--out", "run folder"),
)


def _parse(argv):
    return add_flags(argparse.ArgumentParser(), TABLE).parse_args(argv)


def test_rows_become_config_keys_and_a_switch_stays_unset_until_given():
    flags = config_flags(_parse(["--seed", "3", "--madds", "330M"]), TABLE, "image", "st_topo")
    assert flags == {"seed": 3, "madds": "330M", "execution.device": None, "fast": None}
    assert config_flags(_parse(["--fast"]), TABLE)["fast"] is True


def test_a_flag_of_another_modality_is_a_one_line_error():
    with pytest.raises(NasError, match=r"^--flops does not apply to image space 'st_topo'$"):
        config_flags(_parse(["--flops", "3G"]), TABLE, "image", "st_topo")
    assert config_flags(_parse(["--flops", "3G"]), TABLE, "video", "pv_st")["madds"] == "3G"


def test_two_flags_setting_one_key_are_refused():
    table = TABLE + (Flag("--budget", "the same", key="madds"),)
    args = add_flags(argparse.ArgumentParser(), table).parse_args(["--madds", "1G", "--budget", "2G"])
    with pytest.raises(NasError, match="--madds and --budget both set madds"):
        config_flags(args, table, "image", "st_topo")


def test_resume_refuses_what_the_table_marks_fixed_and_allows_the_rest():
    check_resume(_parse(["--device", "cpu"]), TABLE)
    with pytest.raises(NasError, match="drop --seed, --out"):
        check_resume(_parse(["--seed", "1", "--out", "x", "--device", "cpu"]), TABLE)
    with pytest.raises(NasError, match="key=value overrides"):
        check_resume(_parse([]), TABLE, {"key=value overrides": ["seed=2"]})


@pytest.mark.parametrize("module", [search, derive, retrain, profile])
def test_every_command_declares_each_flag_once_with_a_known_config_key(module):
    """Each command's parser is its table; every key a row names exists in the command's config."""
    names = [f.name for f in module.FLAGS]
    assert len(names) == len(set(names))
    parser = module.build_parser()
    assert {a.option_strings[0] for a in parser._actions if a.option_strings} - {"-h"} == set(names)


def test_search_keys_of_the_table_exist_in_the_search_config():
    from nas.config import to_dict
    from nas.config.search import search_config

    data = to_dict(search_config("st_topo"))
    for f in search.FLAGS:
        if f.key is None:
            continue
        node = data
        for part in f.key.split("."):
            assert part in node, f.key
            node = node[part]
