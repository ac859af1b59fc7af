"""MAdds and parameters of a forgery detector: both streams, the frequency front-ends, MixBlocks and heads.

``spec_cost`` is the pure count (no module built, no tensor computed): each backbone comes from its space's
``backbone_geometry`` (its pure cost model plus its feature maps), and the parts this package adds (FAD, LFS,
MixBlocks, heads, the mask head, the extra input channels of an inflated stem) from the formulas below.
``nas.cost(genotype, task="forgery_image", ...)`` answers with it. ``detector_cost`` counts a built detector
the same way, reading the geometry off its modules: the fallback for a space without ``backbone_geometry``.
MAdds follow the project's convention (convolutions, linear layers and matrix products; no BatchNorm,
activations, pooling or resampling), so both equal ``FlopCounterMode`` / 2 on the built model.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

from nas.core.cost import BackboneGeometry, Cost, bn_cx, conv_out, linear_cx
from nas.forgery.spec import (LFS_BANDS, MASK_WIDTH, DetectorSpec, StageLayout, fad_bands, lfs_out_size, mask_taps,
                              mix_stage_ids, stage_layout, stream_inputs)

__all__ = ["spec_cost", "detector_cost", "fad_cx", "lfs_cx", "mix_cx", "mask_head_cx", "has_pure_cost"]


def fad_cx(size: int, bands: int) -> Cost:
    """Return FAD's cost: forward DCT of 3 colour planes (2 products each), inverse DCT of 3 x bands planes."""
    per_plane = 2 * size ** 3
    return Cost(3 * per_plane + 3 * bands * per_plane, bands * size * size)


def lfs_cx(side_out: int, window: int, bands: int) -> Cost:
    """Return LFS's cost: a (w^2 x w^2) DCT product per window plus a (bands x w^2) band product per window."""
    w2 = window * window
    return Cost(side_out * side_out * (w2 * w2 + bands * w2), bands * w2)


def mix_cx(channels: int, side: int, reduction: int) -> Cost:
    """Return a MixBlock's cost: 4 query/key 1x1 convs, 2 energy and 2 re-weighting products, 2 output convs."""
    d = max(channels // reduction, 8)
    hw = side * side
    qk = Cost(4 * hw * channels * d, 4 * (channels * d + d))
    attn = Cost(2 * hw * hw * d + 2 * channels * hw * hw, 0)
    out = Cost(2 * hw * channels * channels, 2 * channels * channels) + bn_cx(channels) + bn_cx(channels)
    return qk + attn + out + Cost(0, 2)  # + the two gates


def conv1x1_cx(c_in: int, c_out: int, side: int, bias: bool = True) -> Cost:
    """Return the cost of a 1x1 conv on a ``side`` x ``side`` map."""
    return Cost(side * side * c_in * c_out, c_in * c_out + (c_out if bias else 0))


def mask_head_cx(final: Tuple[int, int], taps: List[Tuple[int, int]], width: int = MASK_WIDTH) -> Cost:
    """Return the map decoder's cost: ``final`` and each tap are ``(channels, side)``; per tap a 1x1 lateral and a
    3x3 conv + BN at its side; a 1x1 conv to width on the last map and one to the two maps at the finest side."""
    total = conv1x1_cx(final[0], width, final[1])
    for channels, side in taps:
        total = total + conv1x1_cx(channels, width, side)
        total = total + Cost(side * side * width * width * 9, width * width * 9) + bn_cx(width)
    finest = taps[-1][1] if taps else final[1]
    return total + conv1x1_cx(width, 2, finest)


def backbone_cx(genotype: Any, stem: Any, side: int, num_features: int) -> Cost:
    """Return a stream's backbone cost (no classifier) fed ``side`` px, with stem conv ``stem`` (maybe inflated)."""
    from nas.spaces import model_cost

    k, s, p = stem.kernel_size[0], stem.stride[0], stem.padding[0]
    stem_side = conv_out(side, k, s, p)
    # The space's cost model describes its stride-2 stem; a stride-1 stem on half the size has the same cost.
    resolution = side if s == 2 else 2 * stem_side
    model = model_cost(genotype, resolution=resolution, num_classes=1)
    fc = linear_cx(num_features, 1)
    body = Cost(model.madds - fc.madds, model.params - fc.params)
    per_channel = Cost(stem_side * stem_side * stem.out_channels * k * k, stem.out_channels * k * k)
    extra = stem.in_channels - 3
    return body + Cost(per_channel.madds * extra, per_channel.params * extra)


def _front_cx(front: Any, resolution: int) -> Any:
    """Return ``(cost, side fed to the backbone)`` of a stream's front-end."""
    from torch import nn

    from nas.forgery.frequency import FAD, LFS, lfs_out_size

    cost, side = Cost(), resolution
    for m in front.modules():
        if isinstance(m, FAD):
            cost = cost + fad_cx(m.size, len(m.base))
        elif isinstance(m, LFS):
            side = lfs_out_size(resolution, m.window, m.stride, m.padding)
            cost = cost + lfs_cx(side, m.window, len(m.base))
        elif isinstance(m, nn.Upsample):
            side = resolution  # backbones without a stride-1 stem option see the LFS map resized back
    return cost, side


def detector_cost(detector: Any) -> Cost:
    """Return the exact MAdds and parameters of a built detector (see the module docstring for the convention)."""
    from nas.spaces import get_space
    from nas.forgery.fusion import first_conv_of

    total = Cost()
    pairs = [(detector.front_a, detector.a, detector.genotypes[0])]
    if detector.b is not None:
        pairs.append((detector.front_b, detector.b, detector.genotypes[-1]))
    for front, stream, g in pairs:
        cost, side = _front_cx(front, detector.resolution)
        stem = first_conv_of(stream.net)
        genotype = get_space(g.partition(":")[0]).parse(g)  # canonical string (load_genotype stats it as a path)
        total = total + cost + backbone_cx(genotype, stem, side, stream.num_features)
    a = detector.a
    for k in detector.mix_ids:
        total = total + mix_cx(a.stage_channels[k], a.stage_sides[k], detector.mix_reduction)
    for head in detector.heads.values():
        total = total + linear_cx(head.in_features, head.out_features)
    if detector.mask_head is not None:
        mh = detector.mask_head
        taps = [(lateral.in_channels, a.stage_sides[i]) for i, lateral in zip(detector.tap_ids, mh.laterals)]
        total = total + mask_head_cx((mh.last.in_channels, a.stage_sides[-1]), taps, mh.last.out_channels)
    return total


def has_pure_cost(genotype: Any) -> bool:
    """Return whether ``genotype``'s space describes its backbone without building it (``backbone_geometry``)."""
    from nas.spaces import get_space

    return callable(getattr(get_space(genotype.space), "backbone_geometry", None))


def _stream_cx(kind: str, genotype: Any, spec: DetectorSpec) -> Tuple[Cost, StageLayout, int]:
    """Return one stream's cost (front-end, backbone, inflated stem), its stage layout and feature width."""
    from nas.spaces import get_space

    r = spec.resolution
    if kind == "lfs":
        # F3-Net's LFS stream: a stride-1 stem on the half-size statistics map (as the built detector does)
        side, stem_stride, in_ch = lfs_out_size(r, spec.lfs_window), 1, LFS_BANDS
        front = lfs_cx(side, spec.lfs_window, LFS_BANDS)
    else:
        side, stem_stride = r, spec.stem_stride
        in_ch = 3 * fad_bands(spec.fad_all_band) if kind == "fad" else 3
        front = fad_cx(r, fad_bands(spec.fad_all_band)) if kind == "fad" else Cost()
    geo: BackboneGeometry = get_space(genotype.space).backbone_geometry(genotype, side, stem_stride)
    per_channel = Cost(geo.stem_side ** 2 * geo.stem_channels * geo.stem_kernel ** 2,
                       geo.stem_channels * geo.stem_kernel ** 2)
    extra = in_ch - 3
    stem = Cost(per_channel.madds * extra, per_channel.params * extra)
    return front + geo.body + stem, stage_layout(geo.sides, geo.channels, r), geo.num_features


def spec_cost(genotype: Any, spec: DetectorSpec, lfs_genotype: Optional[Any] = None) -> Cost:
    """Return the exact MAdds and parameters of ``create_detector(genotype, ...)`` for ``spec``, building nothing.

    ``genotype`` and ``lfs_genotype`` are Genotype values whose space has ``backbone_geometry``
    (see :func:`has_pure_cost`).
    """
    spec.validate()
    g_lfs = lfs_genotype if lfs_genotype is not None else genotype
    kind_a, kind_b = stream_inputs(spec.streams)
    total, a, features = _stream_cx(kind_a, g_lfs if kind_a == "lfs" else genotype, spec)
    if kind_b is not None:
        cost_b, b, features_b = _stream_cx(kind_b, g_lfs, spec)
        total, features = total + cost_b, features + features_b
        ids: List[int] = mix_stage_ids(a, b, spec.mix_at) if spec.streams == "mix" else []
        for k in ids:
            total = total + mix_cx(a.channels[k], a.sides[k], spec.mix_reduction)
    for n in spec.classes:
        total = total + linear_cx(features, n)
    if spec.task == "forgery_spatial":
        final = features if kind_b is None else features - features_b  # the mask head reads stream A only
        total = total + mask_head_cx((final, a.sides[-1]), [(a.channels[i], a.sides[i]) for i in mask_taps(a.names)],
                                     spec.map_width)
    return total
