"""A real multi-node Ray cluster on 127.0.0.1: trials that lose a node finish as if they had not, two drivers share it.

The commands run as a user runs them, in their own processes, joining the cluster with ``--address``; the test
removes a worker node (its raylet and every process on it) while a trial runs there. The DDP run that loses a
node is in test_train.py, beside the uninterrupted run it is compared with.
"""
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nas.cli.search import main as search_main

from tests.nas.distributed.multinode import multinode  # noqa: F401 (a fixture)
from tests.nas.distributed.test_tune import attempts, recipe

TORCH_THREADS = 1  # the trials run with one thread each; the clean reference runs must too (same float sums)


def run_command(module: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m module args`` with the cluster's environment; return the finished process."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", module, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_a_driver_joins_a_multinode_cluster_bound_to_loopback(multinode):
    """Ray turns 127.0.0.1 in an address into the machine's IP, where a head bound to 127.0.0.1 does not answer
    (ray-project/ray#59110); ``--address 127.0.0.1:PORT`` still joins such a cluster and sees both nodes."""
    cluster = multinode(head_cpus=1)
    cluster.add(cpus=1)
    code = ("from nas.distributed.cluster import ray_cluster\n"
            f"with ray_cluster(address={cluster.address!r}) as info: print(info)")
    res = subprocess.run([sys.executable, "-c", code], env=os.environ, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "cpus=2.0" in res.stdout


def test_two_run_folders_of_the_same_name_get_different_job_names(tmp_path):
    from nas.distributed.cluster import JOB_NAME_CHARS, run_job_name

    a, b = run_job_name("nas-search", tmp_path / "a" / "exp"), run_job_name("nas-search", tmp_path / "b" / "exp")
    assert a != b and a.endswith("a/exp") and a.startswith("nas-search /")
    deep = run_job_name("nas-search", tmp_path / ("d" * 200) / "exp")
    assert len(deep) == JOB_NAME_CHARS and deep.startswith("...") and deep.endswith("/exp")


def test_a_node_that_does_not_see_the_run_folder_stops_in_one_line(tmp_path):
    """Trials and DDP workers first check a file the driver wrote; a node without the shared storage lacks it."""
    from nas.distributed.cluster import check_shared, mark_driver
    from nas.errors import NasError

    check_shared(mark_driver(tmp_path / "exp" / "tune"))
    with pytest.raises(NasError, match=r"/elsewhere is not visible on node .*: run folders must be on storage"):
        check_shared(tmp_path / "elsewhere" / "driver.json")


def _attempt_rows(out: Path):
    for path in sorted(out.glob("trial-*/attempts.jsonl")):
        for line in path.read_text().splitlines():
            try:
                yield path.parent, json.loads(line)
            except ValueError:  # a line still being written
                continue


def trial_mid_run_on(out: Path, node_id: str):
    """Return the run folder of a trial running on ``node_id`` that has checkpointed and not finished, else None."""
    for run, row in list(_attempt_rows(out)):
        if row["node"] == node_id and (run / "checkpoint.pt").is_file() and not (run / "summary.json").is_file():
            return run
    return None


def genotypes(out: Path) -> dict:
    """Return ``{seed: genotype}`` of the trials ranked in ``out/summary.json``."""
    return {r["seed"]: r["genotype"] for r in json.loads((out / "summary.json").read_text())["trials"]}


@pytest.mark.slow  # about 60-135 s on 2 cores: 4 trials on a 2-node cluster, then 4 clean searches
def test_trials_finish_with_clean_genotypes_when_a_worker_node_is_lost(tmp_path, multinode):
    """Four trials on a head and one worker node (1 CPU each); the worker node goes away while a trial runs there
    with a checkpoint. That trial is retried on the head from its run folder, and every trial's genotype is the
    one a clean search with its seed finds."""
    cluster = multinode(head_cpus=1)
    worker = cluster.add(cpus=1)
    out, rec = tmp_path / "exp", recipe(tmp_path, epochs=6)
    lost = cluster.remove_when(worker, lambda: trial_mid_run_on(out, worker))
    start = time.time()
    res = run_command("nas.cli.search", "--trials", "4", "--address", cluster.address, "--recipe", rec,
                      "--out", str(out))
    print(f"4 trials with a lost node: {time.time() - start:.1f} s")
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert "removed" in lost, "no trial ran on the worker node long enough to lose it"
    victim = attempts(lost["at"])
    assert len(victim) >= 2 and victim[0]["node"] == worker
    assert all(a["had_run_checkpoint"] and a["node"] == cluster.head for a in victim[1:])
    clean = {}
    for seed in range(4):
        run = tmp_path / "clean" / f"s{seed}"
        assert search_main(["--recipe", rec, "--seed", str(seed), "--device", "cpu", "--out", str(run)]) == 0
        clean[seed] = json.loads((run / "summary.json").read_text())["genotype"]
    assert genotypes(out) == clean


def _json(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


@pytest.mark.slow  # about 40-70 s on 2 cores
def test_two_trial_drivers_on_one_cluster_finish_in_their_own_folders_under_their_own_names(tmp_path, multinode):
    """Two ``nas-search --trials 2`` drivers at once on one 2-node cluster (with its dashboard), their run folders
    both called ``exp``: both finish, each in its folder, and the dashboard names their jobs apart, with each
    job's trial actors under their trial names."""
    pytest.importorskip("aiohttp")
    from ray.util.state import list_actors

    cluster = multinode(head_cpus=1, dashboard=True)
    cluster.add(cpus=1)
    rec, outs = recipe(tmp_path, epochs=1), [tmp_path / "a" / "exp", tmp_path / "b" / "exp"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    logs = [tmp_path / "a.log", tmp_path / "b.log"]  # files, not pipes: a full pipe would stall its driver
    start = time.time()
    procs = [subprocess.Popen([sys.executable, "-m", "nas.cli.search", "--trials", "2", "--address", cluster.address,
                               "--recipe", rec, "--out", str(out)], env=env, stdout=log.open("w"),
                              stderr=subprocess.STDOUT) for out, log in zip(outs, logs)]
    for p, log in zip(procs, logs):
        assert p.wait(timeout=600) == 0, log.read_text()[-3000:]
    print(f"two drivers of 2 trials each: {time.time() - start:.1f} s")
    for out in outs:
        summary = json.loads((out / "summary.json").read_text())
        assert summary["finished"] == 2 and not summary["errors"]
        assert all(Path(r["run_dir"]).parent == out.resolve() for r in summary["trials"])
    drivers = {j["metadata"].get("job_name"): j for j in _json(f"{cluster.dashboard_url}/api/jobs/")
               if j.get("type") == "DRIVER"}
    names = [f"nas-search {out.resolve()}" for out in outs]
    assert set(names) <= set(drivers), sorted(drivers)
    assert max(drivers[n]["start_time"] for n in names) < min(drivers[n]["end_time"] for n in names)  # at once
    jobs = {name: drivers[name]["job_id"] for name in names}
    # Tune wraps the trainable, so the actors' class is Tune's; their repr is the trial's name, under its job.
    actors = list_actors(address=cluster.dashboard_url, detail=True, limit=1000, raise_on_missing_output=False)
    for name in names:
        reprs = {a.repr_name for a in actors if a.job_id == jobs[name] and a.repr_name}
        assert reprs == {"trial-000-330M-s0", "trial-001-330M-s1"}, (name, reprs)
