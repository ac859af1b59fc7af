"""The forgery detector: one or two backbone streams (RGB, FAD, LFS), optional MixBlocks, classification heads
for nested label sets and an optional grey-map head.

``create_detector`` works for any image-space genotype through the backbone seam (``nas.create_backbone``).
The output is a dict: ``logits_<n>`` for each label set ``n`` (2, 3, 16) and, when the task is
``forgery_spatial``, ``mask`` (the grey map), ``region`` (the manipulated-region probability) and ``grey`` (the
grey level the map takes inside the region), all in [0, 1] at the input's size.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from nas.errors import NasError
from nas.forgery.frequency import FAD, LFS
from nas.forgery.fusion import MixBlock, NoMix, inflate_stem
from nas.forgery.spec import (LABEL_SETS, LFS_BANDS, MASK_WIDTH, STREAMS, DetectorSpec, fad_bands, label_sets_of,
                              lfs_out_size, mask_taps, mix_stage_ids, stream_inputs)
from nas.forgery.streams import make_stream

MASK_PRIOR_LOGITS = (-2.0, 0.0)  # initial grey-level and region logits (our choice): a faint grey where unsure

__all__ = ["STREAMS", "LABEL_SETS", "DetectorSpec", "Detector", "MaskHead", "create_detector", "stream_inputs"]

class MaskHead(nn.Module):
    """Map decoder over several strides: the last map and each tapped stage (coarse to fine) brought to ``width``
    channels by 1x1 convs, added top-down and fused by a 3x3 conv + BN + ReLU at each stride (an FPN-style
    decoder), then a 1x1 conv to two maps resized to the input: the manipulated-region probability (sigmoid) and
    a grey level (sigmoid). The grey map is the grey level where the region is, zero elsewhere (most pixels are
    unchanged; a grey map learnt by L1 alone settles on zero everywhere).

    ``gate="hard"`` (default) keeps the grey level where the region probability is at least 1/2 and zeroes it
    elsewhere: L1 is smallest at the conditional median, which is zero wherever a pixel is more likely unchanged
    than changed, so a soft product (``gate="soft"``, grey x probability) pays L1 on every unsure pixel."""

    def __init__(self, final_channels: int, tap_channels: List[int], size: int, width: int = MASK_WIDTH,
                 gate: str = "hard"):
        super().__init__()
        self.size, self.gate = size, gate
        self.last = nn.Conv2d(final_channels, width, 1)
        self.laterals = nn.ModuleList([nn.Conv2d(c, width, 1) for c in tap_channels])
        self.fuse = nn.ModuleList([nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False),
                                                 nn.BatchNorm2d(width), nn.ReLU(inplace=True))
                                   for _ in tap_channels])
        self.out = nn.Conv2d(width, 2, 1)
        with torch.no_grad():
            self.out.bias.copy_(torch.tensor(MASK_PRIOR_LOGITS))

    def forward(self, final: torch.Tensor, taps: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(grey map, region probability, grey level)``, each ``(N, size, size)`` in [0, 1]."""
        m = self.last(final)
        for i, (lateral, fuse) in enumerate(zip(self.laterals, self.fuse)):
            t = taps[i]
            m = nn.functional.interpolate(m, size=(t.shape[-2], t.shape[-1]), mode="bilinear", align_corners=False)
            m = fuse(m + lateral(t))
        m = nn.functional.interpolate(self.out(m), size=(self.size, self.size), mode="bilinear",
                                      align_corners=False)
        region, grey = torch.sigmoid(m[:, 1]), torch.sigmoid(m[:, 0])
        # the gate is not trained by the grey map's loss, which would pull the region down everywhere
        gate = (region >= 0.5).to(grey.dtype) if self.gate == "hard" else region.detach()
        return grey * gate, region, grey


class Detector(nn.Module):
    """Front-end(s), stream(s) run stage by stage (MixBlocks at stage ends), pooled heads and the mask head."""

    def __init__(self, spec: DetectorSpec, front_a: nn.Module, a: nn.Module, front_b: Optional[nn.Module],
                 b: Optional[nn.Module], mix_ids: List[int], genotypes: Tuple[str, ...]):
        super().__init__()
        self.streams, self.genotypes = spec.streams, genotypes
        self.resolution: int = spec.resolution
        self.mix_reduction: int = spec.mix_reduction
        self.front_a, self.a, self.front_b, self.b = front_a, a, front_b, b
        self._kinds: List[str] = [k for k in stream_inputs(spec.streams) if k is not None]
        self.n_segments: int = len(a.cuts)
        self.mixes = nn.ModuleList([MixBlock(a.stage_channels[k], spec.mix_reduction) if k in mix_ids else NoMix()
                                    for k in range(self.n_segments)]) if b is not None else None
        self.mix_ids: List[int] = mix_ids
        features = a.num_features + (b.num_features if b is not None else 0)
        self.num_features: int = features
        self.dropout = nn.Dropout(spec.dropout)
        self.heads = nn.ModuleDict({str(n): nn.Linear(features, n) for n in spec.classes})
        self.tap_ids: List[int] = []
        self.mask_head: Optional[MaskHead] = None
        if spec.task == "forgery_spatial":
            self.tap_ids = mask_taps(a.stage_names)
            self.mask_head = MaskHead(a.num_features, [a.stage_channels[i] for i in self.tap_ids], spec.resolution,
                                      width=spec.map_width, gate=spec.map_gate)

    def _run_a(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        fa = self.a.begin(self.front_a(x))
        ends: List[torch.Tensor] = []
        for k in range(self.n_segments):
            fa = self.a.segment(fa, k)
            ends.append(fa[-1])
        return self.a.final(fa), ends

    def _run_ab(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, List[torch.Tensor]]:
        assert self.b is not None and self.front_b is not None and self.mixes is not None
        fa = self.a.begin(self.front_a(x))
        fb = self.b.begin(self.front_b(x))
        ends: List[torch.Tensor] = []
        for k, mix in enumerate(self.mixes):
            fa = self.a.segment(fa, k)
            fb = self.b.segment(fb, k)
            ya, yb = mix(fa[-1], fb[-1])
            fa[-1] = ya
            fb[-1] = yb
            ends.append(ya)
        return self.a.final(fa), self.b.final(fb), ends

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        if self.b is not None:
            final, final_b, ends = self._run_ab(x)
            pooled = torch.cat([final.mean((2, 3)), final_b.mean((2, 3))], 1)
        else:
            final, ends = self._run_a(x)
            pooled = final.mean((2, 3))
        out: Dict[str, torch.Tensor] = {}
        h = self.dropout(pooled)
        for name, head in self.heads.items():
            out["logits_" + name] = head(h)
        if self.mask_head is not None:
            out["mask"], out["region"], out["grey"] = self.mask_head(final, [ends[i] for i in self.tap_ids])
        return out

    def load_backbone_state(self, state: Dict[str, torch.Tensor], genotype: Optional[str] = None) -> List[str]:
        """Load a backbone state dict into the streams built on ``genotype`` (None: every stream), inflating RGB
        stem kernels (F3-Net's init from pretrained weights); return which streams took it."""
        from nas.forgery.fusion import inflate_weight

        took = []
        for tag, stream, g in (("a", self.a, self.genotypes[0]), ("b", self.b, self.genotypes[-1])):
            if stream is None or (genotype is not None and g != genotype):
                continue
            own = stream.net.state_dict()
            missing = [k for k in own if k not in state]
            if missing:
                raise NasError(f"the weights do not fit this detector's backbone ({len(missing)} tensors missing; "
                               f"first: {missing[0]})")
            fitted = {}
            for k, v in own.items():
                w = state[k]
                if w.dim() == 4 and w.shape[1] != v.shape[1] and w.shape[1] % 3 == 0 and w.shape[0] == v.shape[0]:
                    # an inflated stem sums back to its RGB kernel; then tile it for this stream's input
                    w = inflate_weight(w.view(w.shape[0], -1, 3, *w.shape[2:]).sum(1), v.shape[1])
                if w.shape != v.shape:
                    raise NasError(f"the weights do not fit this detector's backbone (tensor {k} is mis-shaped)")
                fitted[k] = w
            stream.net.load_state_dict(fitted)
            took.append(self._kinds[0 if tag == "a" else 1])
        return took


def _backbone(genotype, stem_stride: Optional[int]) -> Tuple[nn.Module, bool]:
    """Build a backbone, with ``stem_stride`` where the space takes it; return it and whether it was applied."""
    from nas.spaces import create_backbone

    if stem_stride is None:
        return create_backbone(genotype), False
    try:
        return create_backbone(genotype, stem_stride=stem_stride), True
    except TypeError:
        return create_backbone(genotype), False


def _stream(kind: str, genotype, spec: DetectorSpec) -> Tuple[nn.Module, nn.Module]:
    """Return ``(front-end, staged stream)`` for one input kind."""
    r = spec.resolution
    if kind == "lfs":
        front: nn.Module = LFS(spec.lfs_window, split=spec.lfs_split, order=spec.lfs_order)
        side = lfs_out_size(r, spec.lfs_window)
        # F3-Net's LFS stream runs a stride-1 stem on the half-size map, so both streams match at every stage.
        net, applied = _backbone(genotype, 1)
        if not applied:
            front = nn.Sequential(front, nn.Upsample(size=(r, r), mode="bilinear", align_corners=False))
            side = r
    else:
        front = FAD(r, all_band=spec.fad_all_band) if kind == "fad" else nn.Identity()
        side = r
        net, _ = _backbone(genotype, spec.stem_stride)
    channels = {"rgb": 3, "fad": 3 * fad_bands(spec.fad_all_band), "lfs": LFS_BANDS}[kind]
    inflate_stem(net, channels)
    return front, make_stream(net, channels, side, r)


def create_detector(genotype, task: str = "forgery_image", classes=(2,), streams: str = "rgb",
                    mix_at=None, resolution: int = 64, lfs_genotype=None, **options) -> Detector:
    """Build a forgery detector on ``genotype``'s backbone (``lfs_genotype``: another genotype for the LFS stream).

    ``classes`` is one label set (``2``), several (``(2, 3, 16)``) or the command line's ``"2,3,16"``.

    Example:
        >>> import torch, nas.forgery
        >>> det = nas.forgery.create_detector("st_topo:mobilenetv2", classes=(2, 3), streams="fad", resolution=32)
        >>> sorted(det(torch.randn(1, 3, 32, 32)))
        ['logits_2', 'logits_3']
    """
    from nas.spaces import load_genotype

    spec = DetectorSpec(task=task, classes=label_sets_of(classes), streams=streams,
                        mix_at=tuple(mix_at) if mix_at is not None else None, resolution=resolution, **options)
    spec.validate()
    g = load_genotype(genotype)
    g_lfs = load_genotype(lfs_genotype) if lfs_genotype is not None else g
    kind_a, kind_b = stream_inputs(spec.streams)
    front_a, a = _stream(kind_a, g_lfs if kind_a == "lfs" else g, spec)
    front_b = b = None
    mix_ids: List[int] = []
    if kind_b is not None:
        front_b, b = _stream(kind_b, g_lfs, spec)
        if spec.streams == "mix":
            mix_ids = mix_stage_ids(a.layout, b.layout, spec.mix_at)
    names = (str(g),) if b is None else (str(g), str(g_lfs))
    return Detector(spec, front_a, a, front_b, b, mix_ids, names)
