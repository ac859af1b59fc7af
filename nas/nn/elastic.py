"""Elastic layers that slice one max-size parameter for the active choice (Once-for-All style)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ElasticBatchNorm2d", "copy_bn"]


class ElasticBatchNorm2d(nn.BatchNorm2d):
    """A BatchNorm over the first ``c`` channels of a max-size BatchNorm, ``c`` taken from the input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        if c == self.num_features:
            return super().forward(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch_stats = self.training or not self.track_running_stats
        # Slices of the 1-D buffers are views, so batch_norm's in-place stat update lands in the full buffer.
        return F.batch_norm(
            x, self.running_mean[:c], self.running_var[:c], self.weight[:c], self.bias[:c],
            use_batch_stats, factor, self.eps,
        )


@torch.no_grad()
def copy_bn(dst: nn.BatchNorm2d, src: nn.BatchNorm2d, c: int) -> None:
    """Copy the first ``c`` channels of ``src``'s affine terms and running statistics into ``dst``."""
    dst.weight.copy_(src.weight[:c])
    dst.bias.copy_(src.bias[:c])
    dst.running_mean.copy_(src.running_mean[:c])
    dst.running_var.copy_(src.running_var[:c])
    dst.num_batches_tracked.copy_(src.num_batches_tracked)
