"""Config-to-object adapters of a retraining run: optimizer, LR schedule and per-step device options."""
from __future__ import annotations

from typing import Any, Dict

import torch
from torch import nn

from nas.config.retrain import OptimConfig, RetrainConfig
from nas.optim import WarmupCosine, create_optimizer, param_groups_weight_decay
from nas.train.loop import StepOptions

__all__ = ["optimizer_kwargs", "build_optimizer", "build_schedule", "step_options"]


def optimizer_kwargs(cfg: OptimConfig) -> Dict[str, Any]:
    """Map the optimizer config to the keyword arguments of ``create_optimizer(cfg.name, ...)``."""
    if cfg.name == "sgd":
        return {"lr": cfg.lr, "momentum": cfg.momentum, "nesterov": cfg.nesterov}
    if cfg.name in ("adam", "adamw"):
        return {"lr": cfg.lr, "betas": (cfg.beta1, cfg.beta2), "eps": cfg.eps}
    return {"lr": cfg.lr, "beta": cfg.adarem_beta, "lam": cfg.adarem_lam, "eps": cfg.eps,
            "lam_unit": cfg.adarem_lam_unit, "step_on_momentum": cfg.adarem_step_on_momentum}


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """Return the weight optimizer of ``cfg`` over ``model``'s trainable parameters."""
    if cfg.no_decay_1d:
        params = param_groups_weight_decay(model, cfg.weight_decay)
    else:
        params = [{"params": [p for p in model.parameters() if p.requires_grad], "weight_decay": cfg.weight_decay}]
    return create_optimizer(cfg.name, params, **optimizer_kwargs(cfg))


def build_schedule(optimizer: torch.optim.Optimizer, cfg: RetrainConfig, steps_per_epoch: int) -> WarmupCosine:
    """Return the per-step linear warm-up + half-cosine schedule of ``cfg``."""
    total = cfg.epochs * steps_per_epoch
    warmup = min(total - 1, round(cfg.schedule.warmup_epochs * steps_per_epoch))
    return WarmupCosine(optimizer, total_steps=total, warmup_steps=warmup, lr_min=cfg.schedule.lr_min,
                        warmup_start_factor=cfg.schedule.warmup_start_factor)


def step_options(cfg: RetrainConfig, device: torch.device) -> StepOptions:
    """Return the per-step device options: the ``amp`` dtype on ``device``, channels_last on CUDA only."""
    from nas.train.amp import amp_dtype

    return StepOptions(device=device, amp_dtype=amp_dtype(cfg.execution.amp, device),
                       channels_last=cfg.execution.channels_last and device.type == "cuda", grad_clip=cfg.optim.grad_clip,
                       log_every=cfg.log_every, min_readable=cfg.data.min_readable, grad_accum=cfg.grad_accum)
