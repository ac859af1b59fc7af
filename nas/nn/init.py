"""Weight initialisation shared by the spaces: He (fan-out) convs, unit BatchNorms, small linear layers."""
from __future__ import annotations

from torch import nn

__all__ = ["init_weights"]


def init_weights(model: nn.Module) -> None:
    """Initialise every conv (He normal, fan-out), BatchNorm (1, 0) and linear layer (N(0, 0.01), bias 0).

    This is MobileNetV2's and torchvision ResNet's scheme for 2-D and 3-D layers alike. Modules are visited in
    ``model.modules()`` order, so under the same torch seed the draws match a per-space copy of this loop.
    """
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
