"""Optional dependencies: a module that is not installed is a one-line error naming the pip extra that brings it.

Every import of a package that a plain install may lack goes through :func:`require`, with what needs it. The
table says which extra of ``setup.cfg`` brings each module; a module of the base install (PyAV, matplotlib) is
named with the plain reinstall that brings it back.

Example:
    >>> require("json", purpose="reading a table")
    >>> require("onnx", purpose="--export m.onnx")  # without the onnx extra  # doctest: +SKIP
    Traceback (most recent call last):
    ...
    nas.errors.NasError: --export m.onnx needs onnx, which is not installed: pip install -e '.[onnx]' (or pip ...
"""
from __future__ import annotations

import importlib.util

from nas.errors import NasError

__all__ = ["EXTRAS", "require"]

# module -> (the pip package, the extra of setup.cfg that installs it; None: the base install)
EXTRAS = {
    "onnx": ("onnx", "onnx"),
    "onnxruntime": ("onnxruntime", "onnx"),
    "aiohttp": ("ray[default]", "dashboard"),
    "aiohttp_cors": ("ray[default]", "dashboard"),
    "thop": ("thop", "bench"),
    "av": ("av", None),
    "matplotlib": ("matplotlib", None),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module blanked out in sys.modules
        return False


def require(*modules: str, purpose: str) -> None:
    """Raise a one-line NasError naming the extra to install when one of ``modules`` is missing; ``purpose`` says
    what needs it (a flag, a file kind)."""
    for module in modules:
        if _installed(module):
            continue
        package, extra = EXTRAS.get(module, (module, None))
        how = f"pip install -e '.[{extra}]' (or pip install '{package}')" if extra else f"pip install {package}"
        raise NasError(f"{purpose} needs {module}, which is not installed: {how}")
