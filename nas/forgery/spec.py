"""What shapes a forgery detector, as plain values (no torch): its spec, stream kinds and stage layouts.

The built detector (``nas.forgery.detector``) and its pure cost (``nas.forgery.cost``) both read these, so the
stage names, MixBlock places and mask-head taps are decided in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from nas.errors import NasError

__all__ = ["STREAMS", "LABEL_SETS", "label_sets_of", "TASKS", "LFS_BANDS", "MAP_GATES", "MASK_WIDTH", "DetectorSpec",
           "StageLayout", "stream_inputs", "stage_layout", "mix_stage_ids", "mask_taps", "lfs_out_size",
           "check_lfs_input", "fad_bands"]

STREAMS = ("rgb", "fad", "lfs", "both", "mix")
LABEL_SETS = (2, 3, 16)  # real/fake; real / ID-replaced / ID-remained; real + 15 methods
TASKS = ("forgery_image", "forgery_spatial")
LFS_BANDS = 6  # F3-Net's LFS band count
MAP_GATES = ("hard", "soft")  # how the grey level is gated by the region probability (MaskHead)
MASK_WIDTH = 32  # channels of the map decoder at every stride (our choice: small beside the backbone)


def label_sets_of(classes: Any) -> Tuple[int, ...]:
    """Return label sets as a sorted tuple from ``2``, ``(2, 3, 16)``, ``"2,3,16"`` or ``""`` (no head).

    Example:
        >>> label_sets_of(2), label_sets_of("16,2"), label_sets_of([3])
        ((2,), (2, 16), (3,))
    """
    if isinstance(classes, bool):
        raise NasError(f"--classes (classes) takes 2, 3 and/or 16, got {classes!r}")
    if isinstance(classes, int):
        items: Iterable[Any] = (classes,)
    elif isinstance(classes, str):
        items = [t.strip() for t in classes.split(",") if t.strip()]
    else:
        try:
            items = list(classes)
        except TypeError:
            raise NasError(f"--classes (classes) takes 2, 3 and/or 16 (an int, a tuple or '2,3,16'), got "
                           f"{str(classes)[:40]!r}") from None
    try:
        out = sorted({int(c) for c in items})
    except (TypeError, ValueError):
        raise NasError(f"--classes (classes) takes 2, 3 and/or 16, got {str(classes)[:40]!r}") from None
    bad = [c for c in out if c not in LABEL_SETS]
    if bad:
        raise NasError(f"--classes (classes) takes 2, 3 and/or 16, got {bad[0]}")
    return tuple(out)


@dataclass(frozen=True)
class DetectorSpec:
    """Everything that shapes a detector besides its genotype(s)."""

    task: str = "forgery_image"  # forgery_image (heads only) or forgery_spatial (grey-map head, optional heads)
    classes: Tuple[int, ...] = (2,)  # label sets with a head; () only for forgery_spatial
    streams: str = "rgb"  # rgb | fad | lfs | both (FAD + LFS, pooled features concatenated) | mix (both + MixBlocks)
    mix_at: Optional[Tuple[str, ...]] = None  # stages after which a MixBlock sits; None: the last two stages
    resolution: int = 64  # input side; FAD's DCT is built for exactly this size
    dropout: float = 0.2  # before the classification heads
    fad_all_band: bool = False  # add the reimplementations' 4th all-band FAD filter (12 channels)
    lfs_window: int = 10  # LFS window side
    lfs_split: str = "linear"  # linear | log band split on i + j
    lfs_order: str = "paper"  # paper: log10(||.||_1 + eps); reimpl: mean of log10|.| over the band
    mix_reduction: int = 8  # MixBlock query/key width = channels / this
    stem_stride: Optional[int] = None  # main stream's stem stride (st_topo option); None: the space's default
    map_gate: str = "hard"  # forgery_spatial: grey map kept where region >= 1/2 (hard) or scaled by it (soft)
    map_width: int = MASK_WIDTH  # forgery_spatial: channels of the map decoder at every stride

    def validate(self) -> None:
        """Raise a one-line NasError on a value that cannot build."""
        if self.task not in TASKS:
            raise NasError(f"forgery task must be one of {', '.join(TASKS)}, got {str(self.task)[:40]!r}")
        if self.streams not in STREAMS:
            raise NasError(f"model.streams (--streams) must be one of {'|'.join(STREAMS)}, "
                           f"got {str(self.streams)[:40]!r}")
        bad = [c for c in self.classes if c not in LABEL_SETS]
        if bad:
            raise NasError(f"--classes takes 2, 3 and/or 16 (comma-separated), got {str(bad[0])[:20]}")
        if not self.classes and self.task == "forgery_image":
            raise NasError("forgery_image needs at least one label set (--classes 2|3|16)")
        if self.streams in ("lfs", "both", "mix"):
            check_lfs_input(self.resolution, self.lfs_window)
        if self.mix_at is not None and self.streams != "mix":
            raise NasError("mix.at applies only with --streams mix")
        if self.map_gate not in MAP_GATES:
            raise NasError(f"forgery.map_gate must be one of {'|'.join(MAP_GATES)}, got {str(self.map_gate)[:40]!r}")
        if not isinstance(self.map_width, int) or not 1 <= self.map_width <= 1024:
            raise NasError(f"forgery.map_width must be an integer in 1..1024, got {str(self.map_width)[:20]}")


@dataclass(frozen=True)
class StageLayout:
    """A backbone stream cut into stages at every change of stride: names (``s8``), node cuts, channels, sides."""

    names: Tuple[str, ...]
    cuts: Tuple[int, ...]  # node index after which each stage ends (exclusive upper bounds)
    channels: Tuple[int, ...]
    sides: Tuple[int, ...]


def stream_inputs(streams: str) -> Tuple[str, Optional[str]]:
    """Return the front-ends of streams A and B: rgb/fad/lfs alone, or fad + lfs for both/mix."""
    if streams in ("both", "mix"):
        return "fad", "lfs"
    return streams, None


def fad_bands(all_band: bool) -> int:
    """Return FAD's band count: low, middle and high, plus the optional all-band filter."""
    return 4 if all_band else 3


def stage_layout(sides: Sequence[int], channels: Sequence[int], resolution: int) -> StageLayout:
    """Return the stages of a node backbone whose node outputs have these sides and channels.

    Stages are named by their output stride relative to the detector's input (``resolution``).
    """
    strides = [max(resolution // s, 1) for s in sides]
    cuts = [i + 1 for i in range(len(strides) - 1) if strides[i + 1] != strides[i]] + [len(strides)]
    return StageLayout(tuple(f"s{strides[c - 1]}" for c in cuts), tuple(cuts),
                       tuple(channels[c - 1] for c in cuts), tuple(sides[c - 1] for c in cuts))


def mix_stage_ids(a: StageLayout, b: StageLayout, mix_at: Optional[Sequence[str]]) -> List[int]:
    """Return the stage indices of the MixBlocks, checking the names and that both streams' maps match there."""
    names = list(a.names)
    at = mix_at if mix_at is not None else tuple(names[-2:])
    ids = []
    for name in at:
        if name not in names:
            raise NasError(f"mix.at names stage {str(name)[:20]!r}, which this backbone does not have "
                           f"(stages: {', '.join(names)})")
        k = names.index(name)
        if list(b.names) != names or (a.channels[k], a.sides[k]) != (b.channels[k], b.sides[k]):
            raise NasError(f"the two streams' maps differ at stage {name} (different genotypes or resolutions); "
                           "choose other mix.at stages or one genotype")
        ids.append(k)
    return sorted(set(ids))


def mask_taps(names: Sequence[str]) -> List[int]:
    """Return the stages the mask head reads besides the last: strides 16, 8, 4 and 2 (coarse to fine), where
    present."""
    earlier = list(names[:-1])
    return [earlier.index(s) for s in ("s16", "s8", "s4", "s2") if s in earlier]


def lfs_out_size(size: int, window: int = 10, stride: int = 2, padding: int = 4) -> int:
    """Return the side of LFS's statistics map: floor((S + 2p - w) / s) + 1 (149 for 299 px)."""
    return (size + 2 * padding - window) // stride + 1


def check_lfs_input(size: int, window: int = 10) -> None:
    """Raise a one-line NasError when ``size`` is below the LFS window."""
    if size < window:
        raise NasError(f"--streams lfs needs a resolution of at least the {window}px LFS window, got {size}")
