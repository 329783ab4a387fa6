"""Driver write throughput of the store: records/s for records of a real study's size, one writer (the driver).

    python benchmarks/bench_store.py [--records N] [--from STUDY_DIR]

Without --from, the record is a synthetic one shaped like a `quick` run with diagnostics (curve, profiles,
time scales, heatmaps). Prints records/s, bytes per stored record and the database size.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from gatelab.store import Store


def synthetic_record() -> dict:
    steps, units = 40, 16
    return {"key": "", "study": "bench", "variant": "gru", "task": "reset_token", "seed": 0, "status": "ok",
            "config": {"task": {"name": "reset_token", "sizes": {"steps": 20}}, "model": {"hidden_size": units},
                       "train": {"steps": 400}},
            "metrics": {"test": 0.99, "best_valid": 0.98, "parameters": 1000},
            "curve": [[50 * i, 0.1, 0.9] for i in range(1, 9)],
            "diagnostics": {"sensitivity": [0.1] * steps, "sensitivity_init": [0.1] * steps,
                            "spectral_radius": [0.9] * steps, "spectral_radius_init": [0.9] * steps,
                            "time_scales": [3.0] * units, "heatmaps": {"z": [[0.5] * steps] * units,
                                                                       "r": [[0.5] * steps] * units}},
            "seconds": 1.0, "backend": "fused", "traceback": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--from", dest="source", help="a study folder whose first record to copy")
    args = parser.parse_args()
    template = synthetic_record()
    if args.source:
        with Store(Path(args.source) / "runs.sqlite") as store:
            template = max(store.records(), key=lambda r: len(json.dumps(r)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "runs.sqlite"
        with Store(path) as store:
            start = time.perf_counter()
            for i in range(args.records):
                store.write({**template, "key": f"{i:08d}"})
            seconds = time.perf_counter() - start
        size = path.stat().st_size + sum(p.stat().st_size for p in Path(folder).glob("runs.sqlite-*"))
    print(f"{args.records} records in {seconds:.2f} s: {args.records / seconds:.0f} records/s, "
          f"{len(json.dumps(template))} bytes of JSON per record, database {size / 2**20:.1f} MiB "
          f"({size / args.records / 1024:.1f} KiB per record)")


if __name__ == "__main__":
    main()
