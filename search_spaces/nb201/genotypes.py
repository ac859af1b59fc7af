"""Named nb201 cells, as NAS-Bench-201 arch strings."""
from __future__ import annotations

from typing import Dict

__all__ = ["NAMED"]

NAMED: Dict[str, str] = {
    # The ResNet-like cell (#11472 in NAS-Bench-201): two 3x3 convs in series plus a skip.
    "resnet": "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
    # The best cell of the shipped table by 12-epoch CIFAR-10 validation (#13714); also its best at 200 epochs.
    "best_c10": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
    # Every edge a 3x3 conv: the largest cell.
    "all_conv3x3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
}
