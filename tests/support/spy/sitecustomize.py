"""Installs the device spy (``tests/support/device_spy.py``) in every Python process started with this folder on
``PYTHONPATH`` and ``NAS_DEVICE_SPY`` set, right after that process imports torch (processes that never do stay
untouched)."""
import os
import sys

if os.environ.get("NAS_DEVICE_SPY"):
    import importlib.abc
    import importlib.machinery

    class _AfterTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name != "torch":
                return None
            sys.meta_path.remove(self)
            spec = importlib.machinery.PathFinder.find_spec("torch", path)
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
                from device_spy import install_from_env

                install_from_env()

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _AfterTorch())
