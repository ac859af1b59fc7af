"""A device-discipline spy: records where collectives, host-to-device copies, pinning and random draws happen.

``DeviceSpy(declared)`` is a ``TorchFunctionMode`` that, while active, checks every
- tensor given to a ``torch.distributed`` collective (and DDP's state broadcast): on the declared device;
- copy (``Tensor.to`` / ``cuda`` / ``copy_`` to another device): to the declared device (or back to the host);
- pin (``Tensor.pin_memory``, a DataLoader iterated with ``pin_memory=True``): only when the declared device is a GPU;
- random draw: floating noise (``rand``, ``randn``, ``normal_``, dropout, ...) made on the declared device and
  never copied afterwards (a draw on one device and a copy to another is the defect this looks for, and it shows
  on the CPU too, as a ``.to`` of a freshly drawn tensor). Integer draws (``randperm``, ``randint``, ``random_``)
  are data order, which the project draws on the CPU on purpose (a GPU run sees a CPU run's batches), so they
  must come from the CPU, and so must the draws of host-side augmentation (made while a DataLoader fetches).
  In-place draws into parameters are weight inits, which the project makes on the CPU (``seeded_init``).

Each check appends to ``events`` (kind, op, device) and, when it fails, to ``violations``. With the environment
variable ``NAS_DEVICE_SPY`` set to a folder, importing ``sitecustomize`` from ``tests/support/spy`` installs a spy
in every Python process started with that folder on ``PYTHONPATH`` (CLI runs, Ray workers, DDP workers), which
writes the first event of each kind and every violation to ``<folder>/<pid>.jsonl`` as they happen.
"""
from __future__ import annotations

import json
import os
import weakref
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["DeviceSpy", "install_from_env", "read_reports", "spy_env"]

NOISE = {"rand", "randn", "rand_like", "randn_like", "normal", "normal_", "uniform_", "bernoulli", "bernoulli_",
         "exponential_", "geometric_", "cauchy_", "log_normal_", "multinomial", "dropout", "dropout1d", "dropout2d",
         "dropout3d", "alpha_dropout", "feature_alpha_dropout", "poisson", "rrelu"}
ORDER = {"randperm", "randint", "randint_like", "random_"}
COPIES = {"to", "cuda", "copy_"}
COLLECTIVES = ("all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce", "reduce_scatter",
               "reduce_scatter_tensor", "gather", "scatter", "all_to_all", "all_to_all_single",
               "_broadcast_coalesced")
Event = Tuple[str, str, str]


def _tensors(obj: Any) -> List[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o)]
    return []


def _target(func_name: str, args: tuple, kwargs: dict) -> Optional[torch.device]:
    """Return the device a ``to`` / ``cuda`` / ``copy_`` call puts data on, or None when it names none."""
    if func_name == "cuda":
        return torch.device("cuda")
    if func_name == "copy_":
        return args[0].device if args and isinstance(args[0], torch.Tensor) else None
    for a in (kwargs.get("device"), *args[1:2]):
        if isinstance(a, torch.Tensor):
            return a.device
        if isinstance(a, (str, torch.device)):
            return torch.device(a)
    return None


class DeviceSpy(TorchFunctionMode):
    """Check collectives, copies, pins and random draws against ``declared`` while active (see the module doc)."""

    def __init__(self, declared: Any, sink: Optional[Callable[[str, Event], None]] = None):
        super().__init__()
        self.declared = torch.device(declared)
        self.events: List[Event] = []
        self.violations: List[str] = []
        self._sink = sink
        self._drawn: "weakref.WeakValueDictionary[int, torch.Tensor]" = weakref.WeakValueDictionary()
        self._undo: List[Callable[[], None]] = []
        self._loading = 0  # > 0 while a DataLoader fetches samples (host-side augmentation)

    def _same(self, device: torch.device) -> bool:
        return device.type == self.declared.type and (self.declared.index is None or device.index in
                                                      (None, self.declared.index))

    def record(self, kind: str, op: str, device: torch.device, ok: bool, why: str = "") -> None:
        """Record one event; a failed check is also a violation."""
        event = (kind, op, str(device))
        self.events.append(event)
        if not ok:
            self.violations.append(f"{kind} {op} on {device} (declared {self.declared}){why}")
        if self._sink is not None:
            self._sink("ok" if ok else "violation", event)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in COPIES and args and isinstance(args[0], torch.Tensor):
            self._copy(name, args, kwargs)
        out = func(*args, **kwargs)
        if name.endswith("_") and name in NOISE and args and isinstance(args[0], torch.nn.Parameter):
            self.record("init", name, out.device, True)  # weight init, on the CPU by design (seeded_init)
        elif self._loading and name in NOISE | ORDER and isinstance(out, torch.Tensor):
            self.record("data", name, out.device, out.device.type == "cpu", ": augmentation is drawn on the host")
        elif name in NOISE and isinstance(out, torch.Tensor):
            self.record("draw", name, out.device, self._same(out.device))
            if not name.endswith("_"):  # a fresh noise tensor; in-place fills are weight inits, built on the CPU
                self._drawn[id(out)] = out
        elif name in ORDER and isinstance(out, torch.Tensor):
            self.record("order", name, out.device, out.device.type == "cpu", ": data order is drawn on the CPU")
        elif name == "pin_memory":
            self.record("pin", name, self.declared, self.declared.type == "cuda")
        return out

    def _copy(self, name: str, args: tuple, kwargs: dict) -> None:
        src = args[0]
        dst = _target(name, args, kwargs) if name != "copy_" else src.device
        if name == "copy_":
            dst, src = src.device, args[1] if len(args) > 1 and isinstance(args[1], torch.Tensor) else None
            if src is None:
                return
        if dst is None:
            return
        if self._drawn.get(id(src)) is src:
            self.record("draw", f"{name} after a draw", dst, False, ": drawn on one device, then copied")
        elif dst.type != src.device.type or dst.type == self.declared.type:
            # Host-to-device copies go to the declared device; reading a result back to the host is fine.
            self.record("copy", name, dst, dst.type == "cpu" or self._same(dst))

    def __enter__(self):
        import torch.distributed as dist
        from torch.utils.data import DataLoader

        for op in COLLECTIVES:
            if hasattr(dist, op):
                self._wrap(dist, op, self._collective)
        from torch.utils.data._utils import fetch

        self._wrap(DataLoader, "__iter__", self._loader_iter)
        for fetcher in (fetch._MapDatasetFetcher, fetch._IterableDatasetFetcher):
            self._wrap(fetcher, "fetch", self._fetch)
        return super().__enter__()

    def __exit__(self, *exc):
        while self._undo:
            self._undo.pop()()
        return super().__exit__(*exc)

    def _wrap(self, owner: Any, attr: str, make: Callable) -> None:
        original = owner.__dict__[attr] if attr in owner.__dict__ else getattr(owner, attr)
        setattr(owner, attr, make(attr, original))
        self._undo.append(lambda: setattr(owner, attr, original))

    def _collective(self, op: str, original: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            tensors = _tensors(list(args) + list(kwargs.values()))
            for t in tensors:
                self.record("collective", op, t.device, self._same(t.device))
            return original(*args, **kwargs)

        return wrapper

    def _fetch(self, op: str, original: Callable) -> Callable:
        spy = self

        def wrapper(fetcher, *args, **kwargs):
            spy._loading += 1
            try:
                return original(fetcher, *args, **kwargs)
            finally:
                spy._loading -= 1

        return wrapper

    def _loader_iter(self, op: str, original: Callable) -> Callable:
        spy = self

        def wrapper(loader):
            if loader.pin_memory:
                spy.record("pin", "DataLoader", spy.declared, spy.declared.type == "cuda")
            return original(loader)

        return wrapper


def install_from_env() -> Optional[DeviceSpy]:
    """Start a spy for this whole process, and every thread it starts later, when ``NAS_DEVICE_SPY`` names a
    folder (see the module doc). Modes are per thread: Ray runs a trial's or a DDP worker's loop in a thread."""
    import threading

    from torch.overrides import _pop_mode, _push_mode

    folder = os.environ.get("NAS_DEVICE_SPY")
    if not folder:
        return None
    path = Path(folder) / f"{os.getpid()}.jsonl"
    seen = set()

    def sink(status: str, event: Event) -> None:
        key = (status, event[0], event[1])
        if key in seen:
            return
        seen.add(key)
        with open(path, "a") as f:
            f.write(json.dumps({"status": status, "kind": event[0], "op": event[1], "device": event[2]}) + "\n")

    spy = DeviceSpy(os.environ.get("NAS_DEVICE_SPY_DEVICE", "cpu"), sink)
    spy.__enter__()  # for the life of the process
    run = threading.Thread.run

    def spied_run(thread):
        _push_mode(spy)
        try:
            run(thread)
        finally:
            _pop_mode()

    threading.Thread.run = spied_run
    return spy


def read_reports(folder: Path) -> Tuple[set, List[dict]]:
    """Return ``((kind, op) pairs checked, violations)`` written by the spies of every process under ``folder``."""
    rows = [json.loads(line) for f in Path(folder).glob("*.jsonl") for line in f.read_text().splitlines()]
    return {(r["kind"], r["op"]) for r in rows if r["status"] == "ok"}, [r for r in rows if r["status"] == "violation"]


def spy_env(folder: Path, device: str = "cpu") -> dict:
    """Return environment variables that install a spy declared on ``device`` in every process of a run."""
    here = str(Path(__file__).resolve().parent / "spy")
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    return {"NAS_DEVICE_SPY": str(folder), "NAS_DEVICE_SPY_DEVICE": device, "PYTHONPATH": path}
