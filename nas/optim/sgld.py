"""Stochastic Gradient Langevin Dynamics with a seeded, checkpointed noise stream."""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional

import torch
from torch import Tensor
from torch.optim.optimizer import ParamsT

__all__ = ["SGLD"]

_GENERATOR_KEY = "generator_state"


class SGLD(torch.optim.Optimizer):
    """SGLD (Welling & Teh, ICML 2011) on the mean loss, as used by the ST-NAS proxy.

    With L_hat the minibatch *mean* loss, N = ``num_data`` and tau = ``temperature``, each step is::

        W <- W - lr * grad(L_hat) - (lr / N) * grad(-log p(W)) + sqrt(2 * lr * tau / N) * xi,  xi ~ N(0, I)

    The Gaussian prior -log p(W) = prior_precision / 2 * |W|^2 turns the second term into
    ``lr * prior_precision / N * W``. Dividing Welling & Teh's sum-loss update by N gives this form, so ``lr``
    plays the role of their eps / N. tau = 1 samples the posterior; tau < 1 sharpens it. There is no momentum.

    The noise comes from ``generator`` in parameter order, so a fixed seed gives a reproducible chain. Without
    one, a private generator on the first parameter's device is seeded from torch's global RNG (so
    ``torch.manual_seed`` still fixes the chain). :meth:`state_dict` stores the generator state, so a resumed
    chain draws the same noise it would have drawn without the interruption. The noise is drawn on the
    parameters' device, so the generator must live there too (no host draw and copy per step). Sparse gradients
    are not supported.

    Example:
        >>> model = torch.nn.Linear(4, 2)
        >>> opt = SGLD(model.parameters(), lr=1e-3, num_data=50_000, generator=torch.Generator().manual_seed(0))
        >>> model(torch.randn(8, 4)).pow(2).mean().backward()
        >>> opt.step()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float,
        *,
        temperature: float = 1.0,
        num_data: int,
        prior_precision: float = 0.0,
        generator: Optional[torch.Generator] = None,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"SGLD lr must be >= 0, got {lr}")
        if not temperature >= 0.0:
            raise ValueError(f"SGLD temperature must be >= 0, got {temperature}")
        if isinstance(num_data, bool) or not isinstance(num_data, int) or num_data < 1:
            raise ValueError(f"SGLD num_data must be a positive int, got {num_data!r}")
        if not prior_precision >= 0.0:
            raise ValueError(f"SGLD prior_precision must be >= 0, got {prior_precision}")
        defaults = dict(lr=lr, temperature=temperature, num_data=num_data, prior_precision=prior_precision)
        super().__init__(params, defaults)
        self.generator = generator if generator is not None else self._default_generator()
        kinds = {p.device.type for group in self.param_groups for p in group["params"]}
        if kinds != {self.generator.device.type}:
            raise ValueError(f"SGLD generator is on {self.generator.device.type}, parameters on "
                             f"{', '.join(sorted(kinds))}: the noise is drawn where the parameters are")

    def _default_generator(self) -> torch.Generator:
        """Return a generator on the first parameter's device, seeded from torch's global RNG."""
        device = self.param_groups[0]["params"][0].device
        seed = int(torch.randint(0, 2**62, (1,)).item())
        return torch.Generator(device=device).manual_seed(seed)

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """Perform one Langevin step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, n = group["lr"], group["num_data"]
            decay = group["prior_precision"] / n
            noise_std = math.sqrt(2.0 * lr * group["temperature"] / n)
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("SGLD does not support sparse gradients")
                drift = p.grad if decay == 0.0 else p.grad.add(p, alpha=decay)
                p.add_(drift, alpha=-lr).add_(self._noise(p), alpha=noise_std)
        return loss

    def _noise(self, p: Tensor) -> Tensor:
        """Draw xi ~ N(0, I) shaped like ``p`` from the optimizer's generator."""
        return torch.randn(p.shape, generator=self.generator, device=p.device, dtype=p.dtype)

    def state_dict(self) -> Dict[str, Any]:
        """Return the optimizer state plus the noise generator state (a uint8 tensor, safe for weights_only)."""
        state = super().state_dict()
        state[_GENERATOR_KEY] = self.generator.get_state()
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Load the optimizer state and restore the noise generator so the chain continues identically."""
        state_dict = dict(state_dict)
        if _GENERATOR_KEY not in state_dict:
            raise KeyError(f"SGLD state_dict has no {_GENERATOR_KEY!r}; it was not saved by SGLD")
        generator_state = state_dict.pop(_GENERATOR_KEY)
        super().load_state_dict(state_dict)
        self.generator.set_state(generator_state.to("cpu", torch.uint8))
