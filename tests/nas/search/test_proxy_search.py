import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import nas

TINY = str(Path(__file__).resolve().parents[3] / "recipes" / "search" / "st_topo_tiny.yaml")


def _search(*args):
    return subprocess.run([sys.executable, "-m", "nas.cli.search", *args], capture_output=True, text=True,
                          timeout=600)


def test_training_free_search_writes_a_normal_run_folder_without_a_supernet(tmp_path):
    out = tmp_path / "run"
    res = _search("--space", "st_topo", "--recipe", TINY, "--out", str(out), "score.scorer=proxy:synflow")
    assert res.returncode == 0, res.stderr[-2000:]
    for name in ("genotype.yaml", "config.yaml", "search.jsonl", "summary.json", "meta.json"):
        assert (out / name).is_file(), name
    assert not (out / "supernet.pt").exists() and not (out / "snapshots").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scorer"] == "proxy:synflow" and summary["config"]["score"]["scorer"] == "proxy:synflow"
    assert "confidence" not in summary and "supernet" not in res.stderr.lower().split("warning")[0]
    g = nas.load_genotype(out)
    data = yaml.safe_load((out / "genotype.yaml").read_text())
    assert 0.85 * 330e6 <= data["madds"] == nas.cost(g).madds <= 330e6
    rows = [json.loads(x) for x in (out / "search.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and rows[-1]["evaluated"] == 12
    assert summary["score"] == max(r["score"] for r in rows)  # log synflow, no accuracy in [0, 1]
    assert summary["score"] > 1.0


def test_proxy_scorer_reproduces_score_proxies():
    from nas.config.search import search_config
    from nas.proxies import score_proxies
    from nas.search.proxy_scorer import ProxyScorer

    cfg = search_config("st_topo", recipe=TINY, flags={})
    scorer = ProxyScorer.for_config(cfg, ["naswot", "synflow"])
    g = nas.get_space("st_topo").default()
    assert scorer.phases() == [] and scorer.final_weights() is None
    row = scorer([g])[0]
    opts = scorer.options
    direct = score_proxies(g, ["naswot"], num_classes=opts["num_classes"], resolution=opts["resolution"],
                           data=opts["data"], seed=cfg.seed, model_options=opts["model_options"])
    assert row == [direct["naswot"]]
    assert opts["data"][0].shape == (cfg.data.batch_size, 3, cfg.data.proxy_resolution, cfg.data.proxy_resolution)


@pytest.mark.parametrize("value, message", [
    ("score.scorer=bogus", "score.scorer must be supernet, proxy:NAME or blend"),
    ("score.scorer=proxy:bogus", "unknown proxy 'bogus' (known: grad_norm"),
])
def test_bad_scorer_is_one_line_exit_2_and_writes_nothing(tmp_path, value, message):
    out = tmp_path / "run"
    res = _search("--space", "st_topo", "--recipe", TINY, "--out", str(out), value)
    assert res.returncode == 2 and message in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_finalists_do_not_apply_to_a_proxy_scorer(tmp_path):
    res = _search("--space", "st_topo", "--recipe", TINY, "--out", str(tmp_path / "r"), "score.scorer=proxy:naswot",
                  "finalists.k=2", "score.val_images=32")
    assert res.returncode == 2 and "finalists.k applies to score.scorer=supernet" in res.stderr


@pytest.mark.slow
def test_blend_search_runs_the_supernet_and_blends(tmp_path):
    out = tmp_path / "run"
    res = _search("--space", "st_topo", "--recipe", TINY, "--out", str(out), "score.scorer=blend")
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert (out / "supernet.pt").is_file() and summary["scorer"] == "blend" and summary["blend_weights"]
    rows = [json.loads(x) for x in (out / "search.jsonl").read_text().splitlines()]
    assert all(0 <= r["score"] <= 1 for r in rows) and "snapshot_spread" in rows[0]


def test_derive_prints_proxies_as_json(capsys):
    from nas.cli.derive import main

    assert main(["nb201:resnet", "--proxies", "synflow,naswot", "--proxy-batch", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["proxies"]) == {"synflow", "naswot"}
    assert out["proxies"]["naswot"] == nas.proxies.score_proxies("nb201:resnet", ["naswot"], num_classes=10,
                                                                  resolution=32, batch_size=8)["naswot"]


def test_derive_bad_proxy_is_one_line_exit_2():
    res = subprocess.run([sys.executable, "-m", "nas.cli.derive", "nb201:resnet", "--proxies", "synflow,nope"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "unknown proxy 'nope'" in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run([sys.executable, "-m", "nas.cli.derive", "nb201:resnet", "--proxy-batch", "8"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "--proxy-batch applies only with --proxies" in res.stderr


class _Inner:
    """A stand-in one-shot scorer: two snapshots, scores given per genotype name."""

    num_snapshots = 2

    def __init__(self, rows):
        self.rows, self.calls = rows, []

    def __call__(self, genotypes, on_done=None):
        self.calls.append(list(genotypes))
        return [list(self.rows[g]) for g in genotypes]

    def phases(self):
        return [("supernet", None)]

    prep_units = prep_done = state_dict = load_state_dict = final_weights = phases


class _Proxies:
    def __init__(self, values):
        self.values_of = values

    def values(self, genotypes):
        return {n: [v[g] for g in genotypes] for n, v in self.values_of.items()}


def test_blend_scorer_mixes_rank_shares_against_the_reference():
    from nas.search.proxy_scorer import BlendScorer

    inner = _Inner({"r1": [0.1, 0.2], "r2": [0.3, 0.4], "a": [0.35, 0.05], "b": [0.0, 0.5]})
    proxies = _Proxies({"synflow": {"r1": 1.0, "r2": 2.0, "a": 3.0, "b": 1.5}})
    blend = BlendScorer(inner, proxies, {"synflow": 1.0}, 0.5, ["r1", "r2"])
    assert blend.phases() == [("supernet", None)] and blend.num_snapshots == 2
    rows = blend(["a", "b"])
    # a: synflow above both references (share 1); snapshot 0 above both (1), snapshot 1 below both (0)
    assert rows[0] == [0.5 * 1 + 0.5 * 1, 0.5 * 1 + 0.5 * 0]
    # b: synflow between the references (0.5); snapshot 0 below both (0), snapshot 1 above both (1)
    assert rows[1] == [0.5 * 0.5 + 0.5 * 0, 0.5 * 0.5 + 0.5 * 1]
    blend(["a"])
    assert inner.calls == [["r1", "r2"], ["a", "b"], ["a"]]  # the reference is scored once


@pytest.mark.slow  # 13 s; SearchRun's resume after SIGKILL is in the default suite through test_st_search
def test_training_free_search_resumes_after_sigkill_to_the_same_result(tmp_path):
    import signal
    import time

    args = ["--space", "st_topo", "--recipe", TINY, "score.scorer=proxy:naswot", "evolution.generations=8"]
    full = tmp_path / "full"
    assert _search(*args, "--out", str(full)).returncode == 0
    cut = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, "-m", "nas.cli.search", *args, "--out", str(cut)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = cut / "search.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if not finished:
        res = _search("--resume", str(cut))
        assert res.returncode == 0, res.stderr[-2000:]
    a, b = (json.loads((d / "summary.json").read_text()) for d in (full, cut))
    assert (a["genotype"], a["score"], a["evaluated"]) == (b["genotype"], b["score"], b["evaluated"])
