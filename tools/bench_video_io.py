"""Benchmark clip decoding: clips per second and peak memory of the seeking reader against decode-all.

Generates H.264 files with PyAV (30 fps, a keyframe every 2 s, a moving gradient and a noise patch; x264
``ultrafast``, so decoding is cheaper than for camera footage) under ``--out``/videos, then reads training
clips as ``recipes/retrain/kinetics_tsm_protocol.yaml`` does (8 frames x stride 8, dense, short side 256,
multi-scale 224 crop, flip) two ways:

- ``seek``: :class:`nas.data.video.VideoListDataset` (only the sampled frames, scaled as decoded); the frame
  index is rebuilt for every clip (its per-process cache is cleared), so the figure includes that demux pass;
- ``decode_all``: the former pipeline, every frame decoded to full-resolution RGB, then indexed and resized.

Each configuration (file set x method x DataLoader workers 0 or 2) runs in a fresh child process, which
reports its wall time per clip and its peak resident memory (``ru_maxrss``: the main process; with workers,
the largest worker too), and the resident memory before the first clip (imports only). Each child's record is
appended to ``raw.jsonl`` as it finishes; ``report.json`` and the printed table are recomputed from that file
on every run, so a second run with the same ``--out`` measures only what is missing (``--report-only``
measures nothing). The speed-up's interval is a bootstrap over the single-process per-clip times (95%,
percentile); the goal (5x clips/s, 1/10 peak memory, on 30 s 720p) is "met" only when the interval's lower
end clears it. Worker runs give throughput only (their clips overlap).

Usage: python tools/bench_video_io.py --out DIR [--quick] [--clips 16] [--old-clips 3] [--max-old-gb 12]
       [--report-only]
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

# name -> (width, height, seconds, files); the goal is stated on 30 s 720p
SETS = {"720p_30s": (1280, 720, 30, 2), "1080p_10s": (1920, 1080, 10, 2), "720p_60s": (1280, 720, 60, 1),
        "1080p_30s": (1920, 1080, 30, 1)}
QUICK = ("720p_30s", "1080p_10s")
FPS, GOP, FRAMES, STRIDE, SHORT, CROP = 30, 60, 8, 8, 256, 224


def write_file(path: Path, w: int, h: int, seconds: int, seed: int) -> None:
    """Write a ``seconds``-long ``w x h`` H.264 file: a scrolling gradient and a moving noise patch."""
    import av

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx + seed * 40) % 256, yy % 256, (xx + yy) % 256], -1).astype(np.uint8)
    patch = rng.integers(0, 255, (h // 4, w // 4, 3), dtype=np.uint8)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.gop_size = GOP
        s.options = {"preset": "ultrafast"}
        for i in range(seconds * FPS):
            img = np.roll(base, 4 * i, axis=1)
            y0 = (3 * i) % (h - h // 4)
            img[y0:y0 + h // 4, w // 3:w // 3 + w // 4] = np.roll(patch, i, 0)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    tmp.rename(path)


def make_files(out: Path, name: str) -> List[Path]:
    """Return the files of set ``name``, writing the missing ones."""
    w, h, seconds, n = SETS[name]
    paths = [out / "videos" / f"{name}_{i}.mp4" for i in range(n)]
    for i, p in enumerate(paths):
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            start = time.monotonic()
            write_file(p, w, h, seconds, seed=i)
            print(f"  wrote {p.name} in {time.monotonic() - start:.1f} s", flush=True)
    return paths


# ---------------------------------------------------------------- child: one configuration, one process
class _DecodeAllClips:
    """The former clip pipeline: decode every frame at full resolution, index, resize, then the same view."""

    def __init__(self, paths, seed: int = 0):
        self.paths, self.seed = paths, seed

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        import torch
        import torch.nn.functional as F

        from nas.data.video import MEAN, STD, dense_indices
        from nas.data.video_augment import TSM_SCALES, TrainAugment, train_view
        from nas.data.video_decode import decode_all, scaled_shape

        rng = random.Random(self.seed * 100003 + i)
        video = decode_all(self.paths[i])
        idx = dense_indices(len(video), FRAMES, STRIDE, True, rng)
        x = torch.from_numpy(video[idx]).permute(0, 3, 1, 2).float() / 255.0
        del video
        x = F.interpolate(x, size=scaled_shape(*x.shape[-2:], SHORT), mode="bilinear", align_corners=False)
        view, label = train_view(x, 0, CROP, TrainAugment(TSM_SCALES, 1, "on"), rng)
        return ((view - MEAN) / STD).permute(1, 0, 2, 3).contiguous(), label


class _ColdIndex:
    """Wrap a dataset so that every clip rebuilds its file's frame index (no per-process cache hits)."""

    def __init__(self, data):
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int):
        from nas.data.video_decode import _cached_index

        _cached_index.cache_clear()
        return self.data[i]


def _dataset(method: str, paths: List[str]):
    if method == "decode_all":
        return _DecodeAllClips(paths)
    from nas.data.video import VideoListDataset, VideoRecord
    from nas.data.video_augment import TSM_SCALES, TrainAugment

    root = Path(paths[0]).parent
    records = [VideoRecord(Path(p).name, 0) for p in paths]
    return _ColdIndex(VideoListDataset(records, root, frames=FRAMES, size=CROP, sampling="dense", stride=STRIDE,
                                       short_side=SHORT, augment=TrainAugment(TSM_SCALES, 1, "on")))


def _rss_kb(who: int) -> int:
    return resource.getrusage(who).ru_maxrss  # kilobytes on Linux


def child(spec: Dict) -> Dict:
    """Read ``spec['clips']`` clips of ``spec['paths']`` (cycled) and return timings and peak memory."""
    import torch
    from torch.utils.data import DataLoader

    from nas.data.collate import collate_skip

    torch.set_num_threads(1)
    paths = [spec["paths"][i % len(spec["paths"])] for i in range(spec["clips"])]
    data = _dataset(spec["method"], paths)
    baseline = _rss_kb(resource.RUSAGE_SELF)
    times, start = [], time.perf_counter()
    if spec["workers"] == 0:
        for i in range(len(data)):
            t = time.perf_counter()
            assert data[i] is not None, paths[i]
            times.append(time.perf_counter() - t)
    else:
        loader = DataLoader(data, batch_size=1, num_workers=spec["workers"], collate_fn=collate_skip)
        for x, _, skipped in loader:
            assert not skipped
            times.append(time.perf_counter() - start)  # arrival times: workers overlap, no per-clip cost
    total = time.perf_counter() - start
    return {**{k: spec[k] for k in ("set", "method", "workers", "clips")}, "seconds": total, "times": times,
            "baseline_kb": baseline, "peak_kb": _rss_kb(resource.RUSAGE_SELF),
            "worker_peak_kb": _rss_kb(resource.RUSAGE_CHILDREN) if spec["workers"] else 0}


# ---------------------------------------------------------------- parent: configurations, raw file, report
def _old_gb(name: str, workers: int) -> float:
    """Return decode-all's estimated peak in GB: twice the RGB frames per process, as measured on 30 s 720p."""
    w, h, seconds, _ = SETS[name]
    return 2 * w * h * 3 * seconds * FPS * max(1, workers) / 2 ** 30


def configurations(args) -> List[Dict]:
    out = []
    for name in (QUICK if args.quick else tuple(SETS)):
        for workers in (0, 2):
            for method in ("seek", "decode_all"):
                clips = args.clips if method == "seek" else args.old_clips * max(1, workers)
                skip = method == "decode_all" and _old_gb(name, workers) > args.max_old_gb
                out.append({"set": name, "method": method, "workers": workers, "clips": clips, "skip": skip})
    return out


def _key(r: Dict) -> tuple:
    return r["set"], r["method"], r["workers"]


def read_raw(path: Path) -> Dict[tuple, Dict]:
    """Return the raw records by (set, method, workers); a torn last line is dropped (measured again)."""
    from nas.utils.io import read_jsonl

    return {_key(r): r for r in read_jsonl(path)}


def _bootstrap_ratio(old: List[float], new: List[float], rng: np.random.Generator, n: int = 4000) -> tuple:
    """Return the 95% percentile interval of mean(old) / mean(new) over resampled per-clip times."""
    o, s = np.asarray(old), np.asarray(new)
    ratios = [rng.choice(o, len(o)).mean() / rng.choice(s, len(s)).mean() for _ in range(n)]
    return float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5))


def report(rows: Dict[tuple, Dict]) -> Dict:
    """Recompute every figure from the raw records."""
    rng, out = np.random.default_rng(0), []
    for (name, method, workers), new in sorted(rows.items()):
        if method != "seek":
            continue
        if (name, "decode_all", workers) not in rows:  # decode-all skipped: too much memory for this machine
            out.append({"set": name, "workers": workers, "seek_clips_per_s": new["clips"] / new["seconds"],
                        "seek_peak_mb": max(new["peak_kb"], new["worker_peak_kb"]) / 1024, "decode_all": "skipped"})
            continue
        old = rows[(name, "decode_all", workers)]
        speed = (new["clips"] / new["seconds"]) / (old["clips"] / old["seconds"])
        peak = lambda r: max(r["peak_kb"], r["worker_peak_kb"])  # noqa: E731 - the largest process
        row = {"set": name, "workers": workers, "seek_clips_per_s": new["clips"] / new["seconds"],
               "decode_all_clips_per_s": old["clips"] / old["seconds"], "speedup": speed,
               "seek_peak_mb": peak(new) / 1024, "decode_all_peak_mb": peak(old) / 1024,
               "memory_ratio": peak(new) / peak(old),
               "seek_above_imports_mb": (peak(new) - new["baseline_kb"]) / 1024,
               "decode_all_above_imports_mb": (peak(old) - old["baseline_kb"]) / 1024,
               "n_clips": [new["clips"], old["clips"]]}
        if workers == 0 and len(old["times"]) > 1:
            lo, hi = _bootstrap_ratio(old["times"], new["times"], rng)
            row["speedup_ci95"] = [lo, hi]
            if name == "720p_30s":
                row["goal_5x_speed"] = "met" if lo >= 5 else "not shown"
        if name == "720p_30s":
            row["goal_tenth_memory"] = "met" if row["memory_ratio"] <= 0.1 else "not met"
        out.append(row)
    return {"rows": out, "note": "peak = ru_maxrss of the largest process (main or one worker), imports included; "
                                 "'above imports' subtracts the main process's resident memory before the first clip"}


def print_report(rep: Dict) -> None:
    print(f"{'set':<10} {'wk':>2} {'seek clip/s':>11} {'all clip/s':>10} {'speedup (95% CI)':>22} "
          f"{'seek MB':>8} {'all MB':>8} {'ratio':>6}")
    for r in rep["rows"]:
        if r.get("decode_all") == "skipped":
            print(f"{r['set']:<10} {r['workers']:>2} {r['seek_clips_per_s']:>11.2f} "
                  f"{'skipped':>10} {'':>22} {r['seek_peak_mb']:>8.0f}")
            continue
        ci = r.get("speedup_ci95")
        sp = f"{r['speedup']:.1f}x" + (f" ({ci[0]:.1f}-{ci[1]:.1f})" if ci else "")
        print(f"{r['set']:<10} {r['workers']:>2} {r['seek_clips_per_s']:>11.2f} {r['decode_all_clips_per_s']:>10.3f} "
              f"{sp:>22} {r['seek_peak_mb']:>8.0f} {r['decode_all_peak_mb']:>8.0f} {r['memory_ratio']:>6.3f}"
              + "".join(f"  {k}: {r[k]}" for k in ("goal_5x_speed", "goal_tenth_memory") if k in r))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--quick", action="store_true", help="30 s 720p and 10 s 1080p only (a few minutes on 2 cores)")
    p.add_argument("--clips", type=int, default=16, help="clips per seeking configuration")
    p.add_argument("--old-clips", type=int, default=3, help="decode-all clips per process (it is slow)")
    p.add_argument("--max-old-gb", type=float, default=12.0, help="skip decode-all runs estimated above this")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "raw.jsonl"
    todo = [c for c in configurations(args) if not c["skip"] and _key(c) not in read_raw(raw)]
    start = time.monotonic()
    for n, c in enumerate([] if args.report_only else todo, 1):
        c["paths"] = [str(x) for x in make_files(out, c["set"])]
        res = subprocess.run([sys.executable, __file__, "--out", str(out), "--child", json.dumps(c)],
                             capture_output=True, text=True)
        if res.returncode:
            raise SystemExit(f"{c['set']} {c['method']} workers={c['workers']} failed: {res.stderr[-1500:]}")
        with raw.open("a") as f:
            f.write(res.stdout.strip().splitlines()[-1] + "\n")
        took = time.monotonic() - start
        print(f"[{n}/{len(todo)}] {c['set']} {c['method']} workers={c['workers']} done; "
              f"{took:.0f} s so far, ETA {took / n * (len(todo) - n):.0f} s", flush=True)
    rep = report(read_raw(raw))
    (out / "report.json").write_text(json.dumps(rep, indent=1))
    print_report(rep)


if __name__ == "__main__":
    main()
