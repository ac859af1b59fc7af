"""Output equality of imported 2-D weights: max |imported model - torchvision-layout reference| per family.

For each family (ResNet-50 into pv_st genotypes, ResNet-101 into pv_st_m, MobileNetV2 into st_topo) and each
of ``--nets`` reference networks with random weights (tests/support/tv_reference.py, BN statistics randomised),
the reference is saved as a plain state dict, imported with ``nas.load_pretrained`` and both are run in eval
mode on the same random input (video: per frame, TSM's shift applied to the reference's residual branches too).
Two baselines sit beside each difference: the same reference run in float64 (the float32 rounding floor of the
reference itself) and a model of the genotype left at its fresh weights (what "not imported" looks like):

    python -m experiments.import_equality --out experiments/results/import_equality.json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List

__all__ = ["FAMILIES", "measure", "main"]

# family -> (reference builder name, genotypes, input kind)
FAMILIES = {
    "ResNet-50 -> pv_st": ("resnet50", ["pv_st:tsn_r50", "pv_st:tsm_r50", "pv_st:r2plus1d_r50", "pv_st:i3d_r50",
                                        "mixed"], "video"),
    "ResNet-101 -> pv_st_m": ("resnet101", ["pv_st_m:tsm_r101", "pv_st_m:r2plus1d_r101"], "video"),
    "MobileNetV2 -> st_topo": ("mobilenet_v2", ["st_topo:mobilenetv2", "mobilenetv2 with 5x5/7x7 kernels"], "image"),
}


def _genotype(name: str):
    """Return the genotype a FAMILIES entry names (two are built here: a mixed pv_st one, a wider-kernel MBv2)."""
    import nas

    if name == "mixed":  # every temporal op but the shift, in turn
        ops = ["t_id", "t_dw3", "t_dw5", "t_conv3", "t_r21d", "t_3d"]
        sp = nas.get_space("pv_st")
        return sp.freeze({d: ops[i % len(ops)] for i, d in enumerate(sp.dims())})
    if name.startswith("mobilenetv2 with"):
        choice = nas.load_genotype("st_topo:mobilenetv2").as_dict()
        choice.update(s02="k7e6", s05="k5e6", s09="k7e6", s14="k5e6")
        return nas.get_space("st_topo").freeze(choice)
    return nas.load_genotype(name)


def _run(kind: str, shift: bool) -> Callable:
    """Return ``f(ref, x)``: the reference's output on ``x`` (video: per frame, averaged; with TSM's shift)."""
    from tests.support.tv_reference import per_frame

    if kind == "video":
        return lambda ref, x: per_frame(ref, x, shift_blocks=shift)
    return lambda ref, x: ref(x)


def measure(family: str, seed: int, work: Path) -> List[Dict]:
    """Return one row per genotype of ``family`` for reference network ``seed``."""
    import torch

    import nas
    from nas.utils.seeds import seeded_init
    from tests.support import tv_reference as tv

    builder, genotypes, kind = FAMILIES[family]
    with seeded_init(seed):
        ref = tv.randomise(getattr(tv, builder)(), torch.Generator().manual_seed(seed))
    path = work / f"{builder}-{seed}.pth"
    torch.save(ref.state_dict(), path)
    gen = torch.Generator().manual_seed(1000 + seed)
    x = torch.randn((2, 3, 4, 32, 32) if kind == "video" else (2, 3, 64, 64), generator=gen)
    rows = []
    for name in genotypes:
        g = _genotype(name)
        run = _run(kind, "tsm" in name)
        with seeded_init(seed), torch.no_grad():
            model = nas.create_model(g, num_classes=1000).eval()
            fresh = float((model(x) - run(ref, x)).abs().max())
            note = nas.load_pretrained(model, path, genotype=g)
            want = run(ref, x)
            got = model(x)
            floor = float((run(ref.double(), x.double()) - want.double()).abs().max())
            ref.float()
        rows.append({"family": family, "genotype": name, "seed": seed, "max_abs_diff": float((got - want).abs().max()),
                     "max_abs_output": float(want.abs().max()), "float64_floor": floor, "fresh_model_diff": fresh,
                     "note": note[:300]})
    return rows


def main(argv: List[str] | None = None) -> int:
    """Measure every family on ``--nets`` reference networks; write the rows and the per-family maxima."""
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--nets", type=int, default=3, help="random reference networks per family")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rows: List[Dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in FAMILIES:
            for seed in range(args.nets):
                rows += measure(family, seed, Path(tmp))
                print(family, seed, max(r["max_abs_diff"] for r in rows if r["family"] == family), flush=True)
    summary = {f: {"max_abs_diff": max(r["max_abs_diff"] for r in rows if r["family"] == f),
                   "float64_floor": max(r["float64_floor"] for r in rows if r["family"] == f),
                   "fresh_model_diff_min": min(r["fresh_model_diff"] for r in rows if r["family"] == f),
                   "n": f"{sum(r['family'] == f for r in rows)} (genotype, reference net) pairs, {args.nets} nets",
                   "bound": 1e-5,
                   "verdict": "within 1e-5" if max(r["max_abs_diff"] for r in rows if r["family"] == f) < 1e-5
                   else "over 1e-5"} for f in FAMILIES}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
