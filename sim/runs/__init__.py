"""Running many runs: executors, durable per-run storage and resuming, the combined tables, the manifest.

- `driver`: `run_specs(specs, out_dir)` (files, resumable) and `simulate_in_memory(specs)` (the Python API);
  `python -m sim.runs SPECS.pkl OUT_DIR` runs pickled specs in a process of their own;
- `executors`: sequential, process pool, Dask, all yielding `(spec, Attempt)` as runs finish;
- `storage`: one directory per run, written atomically; which runs can be reused; the folder lock;
- `combined`: the combined tables, in spec order, from the stored runs or from memory;
- `manifest`: spec hashes, provenance and `manifest.json`;  `atomic`: durable file writes.

Named `runs`, not `run`: a subpackage `sim.run` would shadow the notebook API's `sim.run(...)` once imported.
"""
