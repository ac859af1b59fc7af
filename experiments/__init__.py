"""Research experiments on the nas engine; run each from the repository root as ``python -m experiments.<name>``.

Each module measures one question (search against random sampling, supernet training rules, strategies on
NAS-Bench-201, latency- against MAdds-budget search, the forgery ablation, ...) with the library's own code;
the figures they produced live in ``experiments/results/`` and are discussed in ``docs/``.
"""
