#!/usr/bin/env python3
"""One timed transfer with the official Python client (vi-sdk 0.1.0b7), for `cargo xtask bench`.

    official_client.py upload DATASET_ID FOLDER
        `client.assets.upload(DATASET_ID, paths=FOLDER)`, waiting for ingestion, as its
        users call it.
    official_client.py download DATASET_ID SAVE_DIR
        `client.assets.download(DATASET_ID, save_dir=SAVE_DIR)`; the files land in
        SAVE_DIR/DATASET_ID/.

The client is configured from DATATURE_VI_API_ENDPOINT, DATATURE_VI_SECRET_KEY and
DATATURE_VI_ORGANIZATION_ID. Only the call itself is timed (not the interpreter start, the
imports or the client's construction), like the Rust driver `bench_transfer` does. The last
line on stdout is one JSON object in the driver's shape:
{"facade","op","files","bytes","seconds","peak_rss_kib","succeeded","failed"}, where
peak_rss_kib is VmHWM from /proc/self/status (null off Linux).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def peak_rss_kib() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[1] not in ("upload", "download"):
        print(__doc__, file=sys.stderr)
        return 2
    op, dataset, path = argv[1], argv[2], Path(argv[3])

    import vi
    from vi.logging import LoggingConfig

    if vi.__version__ != "0.1.0b7":
        print(f"vi-sdk {vi.__version__} installed, 0.1.0b7 expected", file=sys.stderr)
        return 1
    client = vi.Client(logging_config=LoggingConfig(enable_file=False, enable_console=False))

    if op == "upload":
        local = files_in(path)
        start = time.perf_counter()
        result = client.assets.upload(dataset, paths=path, show_progress=False)
        seconds = time.perf_counter() - start
        files = len(local)
        succeeded = result.total_succeeded if result is not None else 0
        size = sum(p.stat().st_size for p in local)
    else:
        start = time.perf_counter()
        result = client.assets.download(dataset, save_dir=path, show_progress=False)
        seconds = time.perf_counter() - start
        saved = files_in(path / dataset)
        files = result.count
        succeeded = len(saved)
        size = sum(p.stat().st_size for p in saved)

    print(
        json.dumps(
            {
                "facade": "python",
                "op": op,
                "files": files,
                "bytes": size,
                "seconds": seconds,
                "peak_rss_kib": peak_rss_kib(),
                "succeeded": succeeded,
                "failed": files - succeeded,
            }
        )
    )
    return 0 if succeeded == files else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
