"""AdaRem: SGD whose per-element step grows or shrinks with the agreement of past moves and the new gradient."""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor
from torch.optim.optimizer import ParamsT

__all__ = ["AdaRem", "adarem_multiplier"]

_MAX_SCOPES = ("tensor", "global")
_LAM_UNITS = ("step", "epoch")


def adarem_multiplier(
    grad: Tensor, m: Tensor, lam_k: float, eps: float, max_abs: Optional[Tensor | float] = None
) -> Tensor:
    """Return eta = 1 + lam_k * sign(grad) * m / (max|m| + eps), bounded in [1 - lam_k, 1 + lam_k].

    ``max_abs`` overrides the per-tensor ``max|m|`` (``max_scope="global"`` passes the group-wide maximum).
    """
    if max_abs is None:
        max_abs = _max_abs(m)
    # b in [-1, 1]: > 0 where the past moves (along -m) and the new step (along -g) point the same way.
    b = torch.sign(grad).mul_(m).div_(max_abs + eps)
    return b.mul_(lam_k).add_(1.0)


def _max_abs(m: Tensor) -> Tensor:
    """Return max|m| as a 0-d tensor."""
    # One aminmax pass: on CPU, linalg.vector_norm(ord=inf) and its foreach form are ~15x slower.
    lo, hi = torch.aminmax(m)
    return torch.maximum(hi, lo.neg())


def _max_abs_list(ms: List[Tensor], fused: Optional[bool] = None) -> List[float]:
    """Return max|m| of every tensor, read back to the host in one transfer.

    ``fused`` picks ``torch._foreach_norm(ord=inf)``, a single kernel on accelerators; by default it is used
    everywhere but on CPU, where it is the slow path.
    """
    if fused is None:
        fused = ms[0].device.type != "cpu"
    maxes = list(torch._foreach_norm(ms, math.inf)) if fused else [_max_abs(m) for m in ms]
    return torch.stack(maxes).tolist()


class AdaRem(torch.optim.Optimizer):
    """AdaRem (Liu et al., "Adaptive Gradient Method with Resilience and Momentum", arXiv 2010.11041).

    Per parameter tensor, with gradient g, momentum m (zero at start) and k the number of previous steps::

        b   = sign(g) * m / (max|m| + eps)          # computed from m BEFORE it is updated
        eta = 1 + lam**k * b                        # in [1 - lam**k, 1 + lam**k]; k = 0 makes step 1 plain SGD
        p  <- p - lr * (eta * d + weight_decay * p) # d = g; weight decay (L2) is outside the multiplier
        m  <- beta * m + (1 - beta) * g             # EMA without bias correction

    The paper's method section was not available. The rule above follows the only public reconstruction
    (nestordemeure/flaxOptimizers, Flax, written against arXiv v1), including its defaults beta=0.9, lam=0.999,
    eps=1e-8 (it also uses lr=0.4, an SGD-style large-batch value; here lr is required); that author warns it
    may not match the paper. The regret-analysis projection is left out (it
    only serves the proof). The keyword options are our reading of points the paper leaves open; their
    defaults reproduce the reconstruction:

    * ``step_on_momentum``: step along the freshly updated m (d = m, so step 1 moves by ``(1 - beta) * g``)
      instead of g, one reading of the "momentum" in the title. b still uses the old m and sign(g).
    * ``max_scope``: ``"tensor"`` normalises b by each tensor's max|m|; ``"global"`` uses the max over the
      group's tensors that have a gradient in this step.
    * ``lam_unit``: ``"step"`` counts k in optimizer steps, so with lam=0.999 the adaptivity fades within a
      few thousand steps (lam**5000 ~ 0.007); ``"epoch"`` counts k in epochs: k only advances when you call
      :meth:`epoch_step` (once per epoch, after the epoch's last ``step``). Per-tensor step counts are still
      kept in ``state["step"]``.

    ``foreach=None`` uses the vectorised ``torch._foreach_*`` path when the group's parameters share a device,
    ``False`` forces the per-tensor loop; both compute the same update. The foreach path reads the per-tensor
    maxima back to the host once per group and step. Sparse gradients are not supported.

    Example:
        >>> model = torch.nn.Linear(4, 2)
        >>> opt = AdaRem(model.parameters(), lr=0.1, weight_decay=1e-4)
        >>> model(torch.randn(8, 4)).pow(2).mean().backward()
        >>> opt.step()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float,
        beta: float = 0.9,
        lam: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        step_on_momentum: bool = False,
        max_scope: str = "tensor",
        lam_unit: str = "step",
        foreach: Optional[bool] = None,
    ) -> None:
        defaults = dict(
            lr=lr, beta=beta, lam=lam, eps=eps, weight_decay=weight_decay, step_on_momentum=step_on_momentum,
            max_scope=max_scope, lam_unit=lam_unit, foreach=foreach,
        )
        super().__init__(params, defaults)

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Add a param group after checking its hyperparameters; its epoch counter starts at 0."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        _check_group(group)
        group.setdefault("epoch", 0)

    def epoch_step(self) -> None:
        """Advance every group's epoch counter, the exponent of ``lam`` for groups with ``lam_unit="epoch"``."""
        for group in self.param_groups:
            group["epoch"] += 1

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads, ms, exps = self._collect(group)
            if not params:
                continue
            one_device = len({p.device for p in params}) == 1
            foreach = one_device if group["foreach"] is None else group["foreach"]
            if foreach and not one_device:
                raise ValueError("AdaRem foreach=True needs all parameters of a group on one device")
            (_foreach_update if foreach else _loop_update)(params, grads, ms, exps, group)
        return loss

    def _collect(self, group: Dict[str, Any]) -> Tuple[List[Tensor], List[Tensor], List[Tensor], List[int]]:
        """Return the group's params with a gradient, their grads, momenta and lam exponents; count the step."""
        params, grads, ms, exps = [], [], [], []
        for p in group["params"]:
            # An empty tensor has nothing to update, and max|m| over it is undefined.
            if p.grad is None or p.numel() == 0:
                continue
            if p.grad.is_sparse:
                raise RuntimeError("AdaRem does not support sparse gradients")
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            # k counts *previous* steps (or epochs), so the first step sees lam**0 * b with b = 0: plain SGD.
            exps.append(state["step"] if group["lam_unit"] == "step" else group["epoch"])
            params.append(p)
            grads.append(p.grad)
            ms.append(state["m"])
        # Count the step only once every gradient passed the checks above.
        for p in params:
            self.state[p]["step"] += 1
        return params, grads, ms, exps


def _check_group(group: Dict[str, Any]) -> None:
    """Raise ``ValueError`` for a hyperparameter outside its valid range."""
    if not group["lr"] >= 0.0:
        raise ValueError(f"AdaRem lr must be >= 0, got {group['lr']}")
    if not 0.0 <= group["beta"] < 1.0:
        raise ValueError(f"AdaRem beta must be in [0, 1), got {group['beta']}")
    if not 0.0 <= group["lam"] <= 1.0:
        raise ValueError(f"AdaRem lam must be in [0, 1], got {group['lam']}")
    if not group["eps"] > 0.0:
        raise ValueError(f"AdaRem eps must be > 0 (it guards an all-zero m), got {group['eps']}")
    if not group["weight_decay"] >= 0.0:
        raise ValueError(f"AdaRem weight_decay must be >= 0, got {group['weight_decay']}")
    if group["max_scope"] not in _MAX_SCOPES:
        raise ValueError(f"AdaRem max_scope must be one of {_MAX_SCOPES}, got {group['max_scope']!r}")
    if group["lam_unit"] not in _LAM_UNITS:
        raise ValueError(f"AdaRem lam_unit must be one of {_LAM_UNITS}, got {group['lam_unit']!r}")


def _loop_update(params: List[Tensor], grads: List[Tensor], ms: List[Tensor], exps: List[int],
                 group: Dict[str, Any]) -> None:
    """Apply the update tensor by tensor, transcribing the rule in the class docstring."""
    lr, beta, lam, eps, wd = group["lr"], group["beta"], group["lam"], group["eps"], group["weight_decay"]
    top = None
    if group["max_scope"] == "global":
        top = max(float(_max_abs(m)) for m in ms)
    for p, g, m, k in zip(params, grads, ms, exps):
        eta = adarem_multiplier(g, m, lam**k, eps, top)
        m.lerp_(g, 1.0 - beta)
        update = eta.mul_(m if group["step_on_momentum"] else g)
        if wd != 0.0:
            update.add_(p, alpha=wd)
        p.add_(update, alpha=-lr)


def _foreach_update(params: List[Tensor], grads: List[Tensor], ms: List[Tensor], exps: List[int],
                    group: Dict[str, Any]) -> None:
    """Apply the same update with ``torch._foreach_*`` ops over all tensors at once.

    eta * d = d + c * (sign(g) * m_old) * d with c = lam**k / (max|m_old| + eps) a per-tensor scalar, so
    the step is one ``addcmul`` with per-tensor scalars plus one ``add``. With d = g, sign(g) * m * g equals
    m * |g|, which saves a pass.
    """
    lr, beta, lam, eps, wd = group["lr"], group["beta"], group["lam"], group["eps"], group["weight_decay"]
    # One host read of all maxima keeps the ops below on plain scalar lists (fast path on every device).
    maxes = _max_abs_list(ms)
    if group["max_scope"] == "global":
        maxes = [max(maxes)] * len(maxes)
    scales = [-lr * lam**k / (s + eps) for k, s in zip(exps, maxes)]
    if wd != 0.0:
        torch._foreach_mul_(params, 1.0 - lr * wd)
    if group["step_on_momentum"]:
        agree = torch._foreach_sign(grads)
        torch._foreach_mul_(agree, ms)
        torch._foreach_lerp_(ms, grads, 1.0 - beta)
        torch._foreach_addcmul_(params, agree, ms, scales)
        torch._foreach_add_(params, ms, alpha=-lr)
    else:
        torch._foreach_addcmul_(params, ms, torch._foreach_abs(grads), scales)
        torch._foreach_add_(params, grads, alpha=-lr)
        torch._foreach_lerp_(ms, grads, 1.0 - beta)
