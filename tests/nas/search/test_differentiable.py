import json

import pytest
import torch
import yaml

import nas
from nas.errors import NasError
from nas.search.differentiable import ArchOptimizer, alpha_entropy, derive, expected_madds, identity_share, relax
from search_spaces.pv_st.cost import OP_NAMES

SPACE = nas.get_space("pv_st")
KEYS = [s.key for s in SPACE.slots]


def _cost(g):
    return SPACE.cost(g, resolution=224, num_classes=4, frames=8)


def test_relaxations():
    a = torch.randn(7, requires_grad=True)
    w, idx = relax(a, "softmax", tau=2.0)
    assert idx == list(range(7)) and torch.isclose(w.sum(), torch.tensor(1.0))
    w, idx = relax(a, "gumbel", tau=1.0)
    assert len(idx) == 1 and torch.isclose(w[idx[0]], torch.tensor(1.0))
    assert float(w.detach().sum()) == pytest.approx(1.0)
    w[idx[0]].backward()
    assert a.grad is not None and a.grad.abs().sum() > 0  # straight-through gradient reaches alpha
    w, idx = relax(a, "sample", k=3)
    assert len(idx) == 3 and float(w[idx].detach().sum()) == pytest.approx(1.0)
    assert float(w.detach().sum()) == pytest.approx(1.0)
    with pytest.raises(NasError):
        relax(a, "nope")


def test_derive_never_exceeds_budget():
    alpha = torch.zeros(len(KEYS), len(OP_NAMES))
    alpha[:, OP_NAMES.index("t_3d")] = 3.0
    alpha[:, OP_NAMES.index("t_shift")] = 2.0
    top = derive(alpha, KEYS, OP_NAMES, SPACE, _cost)
    assert set(top.values) == {"t_3d"}
    cheap = _cost(SPACE.named()["tsn"]).madds
    budget = (cheap + _cost(top).madds) // 2
    g = derive(alpha, KEYS, OP_NAMES, SPACE, _cost, budget)
    assert _cost(g).madds <= budget and "t_3d" in g.values and "t_shift" in g.values
    with pytest.raises(NasError, match="infeasible"):
        derive(alpha, KEYS, OP_NAMES, SPACE, _cost, cheap - 1)


def test_derive_fills_the_budget_window_from_below():
    alpha = torch.zeros(len(KEYS), len(OP_NAMES))
    alpha[:, OP_NAMES.index("t_id")] = 3.0  # argmax is the cheapest member (TSN-R50, 32.7G)
    budget = 40_000_000_000
    assert _cost(derive(alpha, KEYS, OP_NAMES, SPACE, _cost, budget)).madds < 0.85 * budget
    g = derive(alpha, KEYS, OP_NAMES, SPACE, _cost, budget, floor=0.85)
    assert 0.85 * budget <= _cost(g).madds <= budget


def test_expected_cost_is_exact_for_one_hot():
    sn = nas.create_supernet("pv_st", num_classes=4, width=0.125)
    rows = SPACE.op_costs(224, 8)
    table = torch.tensor([[r[o].madds for o in OP_NAMES] for r in rows], dtype=torch.float64)
    g = SPACE.named()["r2plus1d"]
    fixed = _cost(g).madds - sum(r["t_r21d"].madds for r in rows)
    alpha = torch.full((len(KEYS), len(OP_NAMES)), -1e4, dtype=torch.float64)
    alpha[:, OP_NAMES.index("t_r21d")] = 0
    assert int(expected_madds(alpha, table, fixed)) == _cost(g).madds
    assert identity_share(sn.alpha) == pytest.approx(1 / 7, abs=0.01)
    assert all(h > 0.99 for h in alpha_entropy(sn.alpha))


def _arch(sn, **kw):
    rows = sn.space.op_costs(224, 8)
    table = torch.tensor([[r[o].madds for o in OP_NAMES] for r in rows], dtype=torch.float32)
    return ArchOptimizer(sn, lr=0.1, table=table, fixed=0, period=2, total_steps=8, **kw)


def test_bilevel_step_separates_weights_and_alpha():
    torch.manual_seed(0)
    sn = nas.create_supernet("pv_st_tiny", num_classes=4)
    sn.set_relaxation("gumbel", tau=1.0)
    arch = _arch(sn)
    w_opt = torch.optim.SGD(sn.weight_parameters(), lr=0.1)
    batch = (torch.randn(4, 3, 2, 16, 16), torch.tensor([0, 1, 2, 3]))
    a0, w0 = sn.alpha.detach().clone(), sn.net.fc.weight.detach().clone()
    arch.step(batch, batch, w_opt, torch.nn.functional.cross_entropy, update_alpha=False)
    assert torch.equal(sn.alpha, a0) and not torch.equal(sn.net.fc.weight, w0)
    w1 = sn.net.fc.weight.detach().clone()
    arch._alpha_step(batch, torch.nn.functional.cross_entropy)
    assert not torch.equal(sn.alpha, a0) and torch.equal(sn.net.fc.weight, w1)
    arch._alpha_step(batch, torch.nn.functional.cross_entropy)
    assert arch.cycle_ends == [2]  # DiversityCosine with period 2


@pytest.mark.parametrize("budget", [10 ** 12, None])  # None: no cost term, so the penalty has no gradient
def test_micro_batches_add_up_to_the_one_batch_step(budget):
    """search.grad_accum: with BN on running statistics and the noise-free softmax relaxation, a step over two
    micro-batches moves the weights and alpha as the one-batch step does."""
    import copy

    torch.manual_seed(0)
    sn = nas.create_supernet("pv_st_tiny", num_classes=4)
    sn.set_relaxation("softmax", tau=1.0)
    sn.eval()  # BatchNorm on running statistics: per-micro-batch statistics are the one intended difference
    batch = (torch.randn(6, 3, 2, 16, 16), torch.tensor([0, 1, 2, 3, 0, 1]))
    nets, a0 = [sn, copy.deepcopy(sn)], sn.alpha.detach().clone()
    for net, micro in zip(nets, (1, 3)):
        arch = _arch(net, budget=budget, gamma=1.0)
        w_opt = torch.optim.SGD(net.weight_parameters(), lr=0.1)
        logs = arch.step(batch, batch, w_opt, torch.nn.functional.cross_entropy, micro=micro)
        net.logs = logs
    torch.testing.assert_close(nets[0].alpha, nets[1].alpha, rtol=1e-5, atol=1e-6)
    for a, b in zip(nets[0].weight_parameters(), nets[1].weight_parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for key in ("loss_w", "loss_a", "penalty"):
        assert nets[0].logs[key] == pytest.approx(nets[1].logs[key], rel=1e-5)
    assert not torch.equal(nets[1].alpha, a0)  # the alpha step did move alpha


def test_grad_accum_must_divide_the_batch():
    from nas.config.search import search_config
    from nas.errors import NasError

    with pytest.raises(NasError, match="search.batch_size 32 must divide by search.grad_accum 3"):
        search_config("pv_st_tiny", opts=["search.grad_accum=3"])
    with pytest.raises(NasError, match="search.grad_accum must be at least 1"):
        search_config("pv_st_tiny", opts=["search.grad_accum=0"])


def test_flops_penalty_pushes_to_cheaper_ops():
    sn = nas.create_supernet("pv_st_tiny", num_classes=4)
    rows = sn.space.op_costs(224, 8)
    arch = _arch(sn, budget=sum(r["t_id"].madds for r in rows), gamma=1.0)  # fixed=0: the slots' cheapest
    before = float(expected_madds(sn.alpha.detach(), arch.table, 0))
    for _ in range(5):
        arch.optimizer.zero_grad()
        arch.penalty().backward()
        arch.optimizer.step()
    assert float(expected_madds(sn.alpha.detach(), arch.table, 0)) < before


def test_gumbel_runs_one_path_per_slot():
    sn = nas.create_supernet("pv_st", num_classes=4, width=0.125)
    calls = []
    for m in sn.mixed_ops:
        for op in m.ops:
            op.register_forward_hook(lambda *a: calls.append(1))
    sn.set_relaxation("gumbel")
    sn(torch.randn(2, 3, 2, 16, 16))
    assert len(calls) == len(KEYS)
    calls.clear()
    sn.set_relaxation("softmax")
    sn(torch.randn(2, 3, 2, 16, 16))
    assert len(calls) == len(KEYS) * len(OP_NAMES)


TINY_OPTS = ["data.train_size=32", "data.alpha_size=32", "data.val_size=32", "search.bn_batches=1"]


def _config(**flags):
    from nas.config.search import search_config

    return search_config(flags.get("space", "pv_st"), recipe="recipes/search/pv_st_tiny.yaml", flags=flags,
                         opts=TINY_OPTS)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from nas.search.run import SearchRun

    out = tmp_path_factory.mktemp("run") / "pv"
    g = SearchRun(_config(madds="40G"), out).run(resume=False)
    assert g == nas.load_genotype(out)
    return out


def test_runner_writes_run_folder(tiny_run):
    for name in ("genotype.yaml", "config.yaml", "supernet.pt", "search.jsonl", "summary.json", "checkpoint.pt"):
        assert (tiny_run / name).is_file(), name
    assert list((tiny_run / "tb").iterdir())
    g = nas.load_genotype(tiny_run)
    meta = yaml.safe_load((tiny_run / "genotype.yaml").read_text())
    # The budget binds: 40G lies between the cheapest (32.7G) and the largest (62.3G) pv_st member at 8x224^2,
    # and the derived genotype lands within 15% below it.
    assert 0.85 * 40e9 <= meta["madds"] == nas.cost(g, resolution=224, num_classes=7, frames=8).madds <= 40e9
    assert meta["frames"] == 8
    assert {"score", "seed", "params"} <= set(meta)
    lines = [json.loads(x) for x in (tiny_run / "search.jsonl").read_text().splitlines()]
    # The rows share their key names with every other strategy's (see test_st_search.py), plus their own.
    assert len(lines) == 2 + len(json.loads((tiny_run / "summary.json").read_text())["finalists"])
    assert {"round", "genotype", "score", "madds", "params", "mean_score", "evaluated",
                                "tau", "loss_w", "epoch"} <= set(lines[0])
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert "candidates" in summary and summary["genotype"] == str(g)
    # Every distinct cycle-end candidate (and the final derived genotype), at most finalists.k of them, is
    # retrained and scored on held-out clips; the best one is the result.
    fin = summary["finalists"]
    assert 1 <= len(fin) <= 2 and len({f["genotype"] for f in fin}) == len(fin)
    assert len({f["genotype"] for f in fin} - set(summary["candidates"])) <= 1  # the final derived genotype
    best = max(fin, key=lambda f: f["score"])
    assert best["genotype"] == str(g) and summary["score"] == best["supernet_score"]
    for f in fin:
        assert f["madds"] == nas.cost(f["genotype"], resolution=224, num_classes=7, frames=8).madds <= 40e9
        assert 0 <= f["score"] <= 1 and f["params"] > 0
    assert summary["strategy"] == "differentiable" and 0 <= summary["score"] <= 1
    assert summary["budget"] == 40_000_000_000 and 0.85 <= summary["budget_use"] <= 1
    state = torch.load(tiny_run / "supernet.pt", weights_only=True)
    assert "alpha" in state
    torch.load(tiny_run / "checkpoint.pt", weights_only=True)


def test_derived_model_is_temporal(tiny_run):
    g = nas.load_genotype(tiny_run)
    assert any(v != "t_id" for v in g.values)
    model = nas.create_model(g, num_classes=4, width=0.125).eval()
    x = torch.randn(1, 3, 4, 32, 32)
    assert not torch.allclose(model(x), model(x.flip(2)), atol=1e-5)


def test_resume_finished_run_and_bad_folder(tiny_run, tmp_path):
    from nas.search.run import SearchRun

    before = json.loads((tiny_run / "summary.json").read_text())
    assert SearchRun(_config(madds="40G"), tiny_run).run(resume=True) == nas.load_genotype(tiny_run)
    assert json.loads((tiny_run / "summary.json").read_text())["score"] == before["score"]
    with pytest.raises(NasError, match="not a search run folder"):
        SearchRun(_config(), tmp_path).run(resume=True)
    with pytest.raises(NasError, match="below the cheapest"):
        SearchRun(_config(madds="30G"), tmp_path / "x").run(resume=False)


def _kill_at_first_checkpoint(proc, out) -> None:
    """SIGKILL the search process ``proc`` as soon as its run folder ``out`` holds a checkpoint."""
    import signal
    import time

    t0 = time.time()
    while not (out / "checkpoint.pt").exists():
        assert proc.poll() is None and time.time() - t0 < 300
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_sigkill_then_resume_matches_uninterrupted(tmp_path):
    import subprocess
    import sys

    opts = ["data.train_size=32", "data.alpha_size=32", "data.val_size=32", "search.bn_batches=1",
            "search.epochs=3", "supernet.width=1"]

    def cmd(*extra):
        return [sys.executable, "-m", "nas.cli.search", *extra]

    ref, out = tmp_path / "ref", tmp_path / "killed"
    # The small test space: this checks the run's checkpoints, not the skeleton.
    base = ["--space", "pv_st_tiny", "--recipe", "recipes/search/pv_st_tiny.yaml"]
    subprocess.run(cmd(*base, "--out", str(ref), *opts), check=True, capture_output=True, timeout=300)
    proc = subprocess.Popen(cmd(*base, "--out", str(out), *opts), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _kill_at_first_checkpoint(proc, out)
    assert not (out / "genotype.yaml").exists()  # killed mid-search
    subprocess.run(cmd("--resume", str(out)), check=True, capture_output=True, timeout=300)
    assert nas.load_genotype(out) == nas.load_genotype(ref)
    strip = lambda p: [{k: v for k, v in json.loads(x).items() if k != "seconds"}  # noqa: E731
                       for x in (p / "search.jsonl").read_text().splitlines()]
    assert strip(out) == strip(ref)


def _video_lists(folder):
    """Write 24 real mp4 clips, a corrupt file, and path-label train/val lists naming them; return the CLI."""
    import sys

    from nas.data.video import write_video
    from nas.data.video_synthetic import SyntheticMotion

    ds = SyntheticMotion(24, frames=8, size=32, seed=0)
    lines = []
    for i in range(24):
        write_video(folder / f"v{i}.mp4", ds.to_uint8(i))
        lines.append(f"v{i}.mp4 {int(ds.labels[i])}")
    (folder / "bad.mp4").write_bytes(b"\x00not a video" * 50)
    (folder / "train.txt").write_text("\n".join(lines[:16] + ["bad.mp4 0"]) + "\n")
    (folder / "val.txt").write_text("\n".join(lines[16:]) + "\n")
    return [sys.executable, "-m", "nas.cli.search", "--space", "pv_st_tiny", "--recipe",
            "recipes/search/pv_st_tiny.yaml", "--data-root", str(folder), "--train-list", str(folder / "train.txt"),
            "--val-list", str(folder / "val.txt"), "--frames", "4", "search.batch_size=4", "search.bn_batches=1",
            "finalists.k=1"]


def test_search_on_user_video_lists(tmp_path):
    """nas-search --space pv_st on real mp4 files named in path-label lists, one corrupt file skipped."""
    import subprocess

    cmd = _video_lists(tmp_path)
    res = subprocess.run([*cmd, "search.epochs=1", "--out", str(tmp_path / "run")], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "skipped" in res.stderr and "unreadable video" in res.stderr
    assert nas.load_genotype(tmp_path / "run").space == "pv_st_tiny"


@pytest.mark.slow
def test_search_on_user_video_lists_resumes_after_sigkill(tmp_path):
    """A list-data search killed after its first epoch resumes to the uninterrupted run: the clips' frame
    offsets and crops are keyed by epoch, the batch order comes from the checkpointed generators."""
    import subprocess
    import sys

    cmd = _video_lists(tmp_path)
    ref, out = tmp_path / "ref", tmp_path / "killed"
    subprocess.run([*cmd, "--out", str(ref)], check=True, capture_output=True, timeout=300)
    proc = subprocess.Popen([*cmd, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_at_first_checkpoint(proc, out)
    subprocess.run([sys.executable, "-m", "nas.cli.search", "--resume", str(out)], check=True,
                   capture_output=True, timeout=300)
    strip = lambda p: [{k: v for k, v in json.loads(x).items() if k != "seconds"}  # noqa: E731
                       for x in (p / "search.jsonl").read_text().splitlines()]
    assert strip(out) == strip(ref) and nas.load_genotype(out) == nas.load_genotype(ref)


@pytest.mark.parametrize("args, fragment", [
    (["--frames", "0"], "frames must be positive, got 0"),
    (["--frames", "-4"], "frames must be positive, got -4"),
    (["--resolution", "16"], "resolution must be at least 32"),
    (["--flops", "20G"], "MAdds budget 20G is below the cheapest pv_st model (32.7G"),
    (["supernet.width=0"], "supernet.width must be in (0, 1]"),
    (["finalists.epochs=0"], "finalists.epochs must be at least 1"),
])
def test_video_bad_input_one_line(args, fragment, tmp_path, capsys):
    from nas.cli.search import main

    rc = main(["--space", "pv_st", *args, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and fragment in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def test_kinetics_val_list_labels_follow_the_training_classes(tmp_path):
    """A Kinetics CSV indexes its own sorted classes; the search maps validation onto the training index."""
    from nas.config.search import DataConfig
    from nas.search.bilevel import _list_sets

    head = "label,youtube_id,time_start,time_end,split\n"
    (tmp_path / "train.csv").write_text(head + "".join(f"{c},t{c}{i},0,10,train\n" for c in "abc" for i in range(2)))
    (tmp_path / "val.csv").write_text(head + "b,vb,0,10,val\nc,vc,0,10,val\n")
    cfg = DataConfig(source="list", root=str(tmp_path), train_list=str(tmp_path / "train.csv"),
                          val_list=str(tmp_path / "val.csv"))
    sets, n_cls = _list_sets(cfg, seed=0)
    assert n_cls == 3
    assert [(r.path, r.label) for r in sets[2].records] == [("vb_000000_000010.mp4", 1), ("vc_000000_000010.mp4", 2)]
    (tmp_path / "val.csv").write_text(head + "d,vd,0,10,val\n")
    with pytest.raises(NasError, match="classes missing from the training list, e.g. 'd'"):
        _list_sets(cfg, seed=0)
