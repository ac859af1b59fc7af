"""The nb201 space: NAS-Bench-201's cell (4 nodes, 6 edges, 5 ops) in the benchmark's macro skeleton."""
