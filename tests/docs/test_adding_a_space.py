"""The example of docs/adding_a_space.md, found WITHOUT pip: a dist-info with its entry point on sys.path."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "nas_toy_space"


@pytest.fixture
def env(installed):
    """Return an environment whose sys.path holds the example package and an installed-looking dist-info.

    The entry point is the example's own setup.cfg's, so the test checks what a user would ship.
    """
    return installed(EXAMPLE / "setup.cfg", EXAMPLE)


def _run(env, *args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT)


def test_toy_space_is_discovered_costed_built_and_searched(env):
    code = textwrap.dedent("""
        import random, sys
        import nas
        assert "toy" in nas.list_spaces(), nas.list_spaces()
        g = nas.load_genotype("toy:small")
        assert nas.cost(g) == nas.cost(g, resolution=32, num_classes=10)
        assert nas.cost(g).madds == 414800 and "torch" not in sys.modules
        import torch
        from torch.utils.flop_counter import FlopCounterMode
        space = nas.get_space("toy")
        rng = random.Random(0)
        for g in [space.sample(rng) for _ in range(5)] + [space.largest()]:
            model = nas.create_model(g, num_classes=10).eval()
            with FlopCounterMode(display=False) as fc, torch.no_grad():
                out = model(torch.randn(2, 3, 32, 32))
            assert out.shape == (2, 10)
            assert fc.get_total_flops() // 4 == nas.cost(g).madds  # FLOPs = 2 MAdds, batch of 2
            assert sum(p.numel() for p in model.parameters()) == nas.cost(g).params
            bb = nas.create_backbone(g)
            x = torch.randn(2, 3, 32, 32)
            assert bb(x).shape == (2, bb.num_features) and bb.forward_features(x).shape == (2, bb.num_features, 4, 4)
        from tests.conftest import randomize_bn  # no zero-initialised BN hides an edge from the check
        sn = randomize_bn(nas.create_supernet("toy", num_classes=10))
        sn.train()
        sn(torch.randn(8, 3, 32, 32))  # move the BN statistics away from their initial values
        sn.eval()
        for _ in range(5):
            g = sn.sample_active(rng)
            x = torch.randn(2, 3, 32, 32)
            assert torch.allclose(sn(x), sn.extract(g).eval()(x), atol=1e-6), str(g)
        from nas.search.strategies.evolution import Evolution
        from nas.search.strategies.window import cost_window
        cost = lambda g: nas.cost(g).madds
        lo, hi = cost_window(space, cost, 1_000_000, 0.5)
        evo = Evolution(space, cost, lo=lo, hi=hi, population=8, parents=4, mutation_prob=0.3, rng=random.Random(0))
        for _ in range(4):
            batch = evo.ask()
            evo.tell([(g, -abs(cost(g) - 900_000) / 1e6) for g in batch])
        best = evo.best()
        assert lo <= cost(best.genotype) <= hi
        print("ok", best.genotype)
    """)
    out = _run(env, "-c", code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("ok toy:")


def test_nas_derive_on_the_toy_space(env, tmp_path):
    out = _run(env, "-m", "nas.cli.derive", "toy:big", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout)
    assert data["space"] == "toy" and data["madds"] == sum(v["madds"] for v in data["breakdown"].values())
    bad = _run(env, "-m", "nas.cli.derive", "toy:big", "--frames", "4")
    assert bad.returncode == 2 and "frames applies to video spaces only" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("strategy", ["evolution", pytest.param("random", marks=pytest.mark.slow)])  # random: slow
def test_nas_search_runs_on_the_toy_space(env, tmp_path, strategy):
    """The generic search run drives any strategy on a space that only a plugin added."""
    recipe = tmp_path / "toy.yaml"
    recipe.write_text("resolution: 32\nnum_classes: 10\n"
                      "data: {proxy_resolution: 16, train_size: 128, val_size: 64, batch_size: 32}\n"
                      "supernet: {epochs: 1}\nsgld: {burn_in: 1, snapshots: 2, spacing: 1}\n"
                      "score: {bn_batches: 1, bn_batch_size: 32, val_images: 64, eval_batch_size: 64}\n"
                      "evolution: {population: 4, generations: 1, parents: 2}\n")
    out = tmp_path / "run"
    res = _run(env, "-m", "nas.cli.search", "--space", "toy", "--madds", "1M", "--strategy", strategy,
               "--recipe", str(recipe), "--out", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["space"] == "toy" and summary["strategy"] == strategy
    assert summary["madds"] <= 1_000_000 and 0.0 <= summary["score"] <= 1.0
    assert summary["genotype"].startswith("toy:")
    bad = _run(env, "-m", "nas.cli.search", "--space", "toy", "--madds", "1M", "--recipe", str(recipe),
               "supernet.width=0.25", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "supernet.width does not apply to space 'toy'" in bad.stderr
    assert not (tmp_path / "bad").exists()  # refused before any folder is written
