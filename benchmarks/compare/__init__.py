"""Side-by-side benchmark of the harvester and other E-utilities clients (GitHub issue 7).

`python -m benchmarks.compare run [--quick]` from the repository root. Every contender runs as
its own subprocess against its own fresh emulator process (large dataset, NCBI's limits
enforced), writes a normalised output that `verify.py` checks against the dataset's ground
truth, and is measured from the server's request log. See `runner.py` for the procedure.
"""
