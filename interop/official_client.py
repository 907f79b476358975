#!/usr/bin/env python3
"""Wire-compatibility scenario run with the official Python client (vi-sdk 0.1.0b7).

Driven by `cargo xtask interop` (see interop/README.md), against vi-emulator:

    official_client.py make-samples SAMPLES_DIR
        Writes the sample images both scenarios upload (small PNGs made with zlib and
        struct only, no Pillow), so the official client and our SDK send the same files.

    official_client.py run SAMPLES_DIR WORK_DIR
        Runs the scenario with `vi.Client()`, configured from DATATURE_VI_API_ENDPOINT,
        DATATURE_VI_SECRET_KEY and DATATURE_VI_ORGANIZATION_ID. Every step checks its
        result (counts, ids, bytes) and the script exits non-zero with a message naming
        the step on the first mismatch or error.

The operations, in order (our SDK's driver, tools/harness/src/interop_rust.rs, does the same):

  1. create a dataset
  2. upload one image file, waiting for ingestion
  3. upload a folder (recursive; a .txt file in it is not collected), waiting
  4. upload in-memory bytes, waiting
  4a. import annotation files: `annotations.upload` of a folder holding one Vi JSONL
     file (two phrase-grounding records), waiting for the import session
  4b. download the annotations only: `annotations.download` with explicit ViJsonl export
     settings (its default cannot be used, spec §30.5); the record ids come back
  5. list assets page by page, 2 per page; the official client cannot follow asset
     page tokens itself (spec §7, §8), so the token is passed back by hand, as its
     users must
  6. count assets; list (filename descending) and count with a filter
  7. get one asset without and with contents; fetch its signed URL and compare bytes
  8. download every asset (skip existing) twice: the second run writes nothing
  9. rename an asset by id, then back by filename
 10. delete one asset (then count again, and a get of it is a 404)
 11. download the dataset with its labels (client.get_dataset)
 12. delete the dataset (then a get of it is a 404)
"""

from __future__ import annotations

import json
import os
import struct
import sys
import traceback
import zlib
from pathlib import Path

# name -> (relative path under SAMPLES_DIR, width, height, seed)
SINGLE = "single/solo.png"
FOLDER_FILES = ["folder/alpha.png", "folder/beta.png", "folder/nested/gamma.png"]
FOLDER_IGNORED = "folder/notes.txt"
BYTES_FILES = ["bytes/memory-one.png", "bytes/memory-two.png"]
PAGE_SIZE = 2
# Sample widths are 16 + 4 * seed (seeds 1..6 in the order above): 20, 24, 28, 32, 36, 40.
WIDE_FILTER = "metadata.width >= 32"
WIDE_SORTED = ["memory-two.png", "memory-one.png", "gamma.png"]


# Vi JSONL records imported and exported again: record id -> (asset, width, height).
LABELS_FILE = "labels.jsonl"
LABELS = {"an-solo": ("solo.png", 20, 15), "an-alpha": ("alpha.png", 24, 18)}


def vi_jsonl() -> str:
    """The import file: one phrase-grounding record per asset in LABELS (keep in step
    with tools/harness/src/interop_rust.rs)."""
    lines = []
    for record_id, (name, width, height) in LABELS.items():
        record = {
            "id": record_id,
            "asset": {"type": "Image", "filename": name, "width": width, "height": height},
            "contents": {
                "type": "PhraseGrounding",
                "caption": "a small test pattern",
                "groundedPhrases": [
                    {"phrase": "a small test pattern", "startTokenIndex": 0, "endTokenIndex": 4, "bounds": [[0.1, 0.2, 0.6, 0.9]]}
                ],
            },
        }
        lines.append(json.dumps(record, separators=(",", ":")))
    return "\n".join(lines) + "\n"


class ScenarioError(Exception):
    """A step's result was not what it should be."""


def png(width: int, height: int, seed: int) -> bytes:
    """An RGB PNG with a pattern depending on `seed` (so every file differs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows += bytes(((x * 7 + seed * 31) % 256, (y * 5 + seed * 17) % 256, (x * y + seed) % 256))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def make_samples(root: Path) -> None:
    files = [SINGLE, *FOLDER_FILES, *BYTES_FILES]
    for seed, rel in enumerate(files, start=1):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png(16 + 4 * seed, 12 + 3 * seed, seed))
    (root / FOLDER_IGNORED).write_text("not an image: directory scans skip it\n")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise ScenarioError(message)


def run(samples: Path, work: Path) -> None:
    import httpx  # the official client's own HTTP library (a dependency of vi-sdk)

    import vi
    from vi.api.resources.datasets.assets.types import AssetSortCriterion, SortCriterion, SortOrder
    from vi.api.types import PaginationParams
    from vi.logging import LoggingConfig

    for var in ("DATATURE_VI_API_ENDPOINT", "DATATURE_VI_SECRET_KEY", "DATATURE_VI_ORGANIZATION_ID"):
        check(bool(os.environ.get(var)), f"{var} is not set")
    check(vi.__version__ == "0.1.0b7", f"vi-sdk {vi.__version__} installed, 0.1.0b7 expected")

    originals: dict[str, bytes] = {}
    for rel in [SINGLE, *FOLDER_FILES, *BYTES_FILES]:
        originals[Path(rel).name] = (samples / rel).read_bytes()
    expected_names = set(originals)

    work.mkdir(parents=True, exist_ok=True)
    client = vi.Client(
        logging_config=LoggingConfig(enable_file=True, log_file_path=str(work / "vi-sdk.log"))
    )

    step = Step()

    with step("create dataset"):
        dataset = client.datasets.create(name="interop official client", description="wire-compatibility run")
        ds = dataset.dataset_id
        check(bool(ds) and "_" not in ds, f"short dataset id expected, got {ds!r}")
        check(dataset.name == "interop official client", f"name {dataset.name!r}")
        step.note(f"dataset {ds}")

    def check_upload(result, names: list[str]) -> None:
        check(result is not None, "upload returned no result")
        check(result.total_files == len(names), f"total_files {result.total_files}, expected {len(names)}")
        check(result.total_succeeded == len(names), f"succeeded {result.total_succeeded}, expected {len(names)}")
        check(result.total_failed == 0, f"failed {result.total_failed}: {result.failed_files}")
        check(result.is_complete, "upload result is not complete")
        check(len(result.session_ids) == 1, f"one ingestion session expected, got {result.session_ids}")

    with step("upload one file (wait)"):
        check_upload(client.assets.upload(ds, paths=samples / SINGLE, show_progress=False), [SINGLE])

    with step("upload a folder (wait)"):
        check_upload(client.assets.upload(ds, paths=samples / "folder", show_progress=False), FOLDER_FILES)

    with step("upload in-memory bytes (wait)"):
        items = [(Path(rel).name, (samples / rel).read_bytes()) for rel in BYTES_FILES]
        check_upload(client.assets.upload(ds, assets_bytes=items, show_progress=False), BYTES_FILES)

    labels_dir = work / "labels"
    with step("import annotations (Vi JSONL, a folder, wait)"):
        labels_dir.mkdir(parents=True, exist_ok=True)
        (labels_dir / LABELS_FILE).write_text(vi_jsonl())
        result = client.annotations.upload(ds, paths=labels_dir, show_progress=False)
        check(result is not None, "upload returned no result")
        check(result.total_files == 1, f"total_files {result.total_files}")
        check(result.total_annotations == len(LABELS), f"{result.total_annotations} annotations, expected {len(LABELS)}")
        check(result.is_complete, "the import is not complete")
        step.note(f"{result.total_annotations} annotations")

    with step("download annotations (ViJsonl, explicit export settings)"):
        from vi.api.resources.datasets.types import DatasetExportFormat, DatasetExportSettings

        # Explicit settings: the default of annotations.download cannot be used (spec §30.5).
        settings = DatasetExportSettings(format=DatasetExportFormat.VI_JSONL)
        target = work / "annotations"
        try:
            got = client.annotations.download(ds, export_settings=settings, save_dir=target, overwrite=True, show_progress=False)
        except FileExistsError:
            # vi-sdk's parallel unzip races on creating a folder (spec §30.13 #7); the
            # folders exist now, so a second run cannot race.
            print("   (vi-sdk's parallel extraction raced on a folder: retrying once)", flush=True)
            got = client.annotations.download(ds, export_settings=settings, save_dir=target, overwrite=True, show_progress=False)
        lines = [
            line
            for path in sorted(Path(got.save_dir).rglob("*.jsonl"))
            for line in path.read_text().splitlines()
            if line.strip()
        ]
        ids = sorted(json.loads(line)["id"] for line in lines)
        check(ids == sorted(LABELS), f"exported record ids {ids}, expected {sorted(LABELS)}")

    by_name: dict[str, object] = {}
    with step(f"list assets page by page ({PAGE_SIZE} per page, token passed by hand)"):
        page = client.assets.list(ds, pagination=PaginationParams(page_size=PAGE_SIZE))
        pages, seen_tokens = 0, set()
        while True:
            pages += 1
            check(len(page.items) <= PAGE_SIZE, f"page {pages} has {len(page.items)} items")
            for asset in page.items:
                check(asset.asset_id not in {a.asset_id for a in by_name.values()}, f"asset {asset.asset_id} listed twice")
                by_name[asset.filename] = asset
            token = page.next_page
            if not token:
                break
            check(token not in seen_tokens, f"page token repeated on page {pages}")
            seen_tokens.add(token)
            check(pages < 100, "more than 100 pages")
            page = client.assets.list(ds, pagination=PaginationParams(page_token=token, page_size=PAGE_SIZE))
        check(set(by_name) == expected_names, f"listed {sorted(by_name)}, expected {sorted(expected_names)}")
        expected_pages = -(-len(expected_names) // PAGE_SIZE)
        check(pages >= expected_pages, f"{pages} pages, expected at least {expected_pages}")
        for name, asset in by_name.items():
            check(asset.metadata.file_size == len(originals[name]), f"{name}: fileSize {asset.metadata.file_size}")
            check(asset.contents is None, f"{name}: contents present without contents=y")
        step.note(f"{len(by_name)} assets in {pages} pages")

    with step("count assets"):
        count = client.assets.count(ds)
        check(count == len(expected_names), f"count {count}, expected {len(expected_names)}")

    with step(f"list and count with a filter, sorted by filename descending"):
        page = client.assets.list(
            ds,
            pagination=PaginationParams(page_size=10),
            filter_criteria=WIDE_FILTER,
            sort_by=AssetSortCriterion(criterion=SortCriterion.FILENAME, order=SortOrder.DESC),
        )
        names = [a.filename for a in page.items]
        check(names == WIDE_SORTED, f"listed {names}, expected {WIDE_SORTED}")
        check(not page.next_page, "a next page after every match")
        count = client.assets.count(ds, filter_criteria=WIDE_FILTER)
        check(count == len(WIDE_SORTED), f"filtered count {count}, expected {len(WIDE_SORTED)}")

    solo_id = by_name["solo.png"].asset_id
    with step("get asset (no contents)"):
        asset = client.assets.get(ds, solo_id)
        check(asset.asset_id == solo_id and asset.filename == "solo.png", f"got {asset.asset_id} {asset.filename}")
        check(asset.contents is None, "contents present without contents=y")

    with step("get asset with contents, fetch its signed URL"):
        asset = client.assets.get(ds, solo_id, contents=True)
        check(asset.asset_id == solo_id, f"got asset {asset.asset_id}")
        check(asset.contents is not None and asset.contents.asset is not None, "no contents.asset")
        check(asset.contents.asset.expiry > 0, "no expiry")
        response = httpx.get(asset.contents.asset.url)
        check(response.status_code == 200, f"signed URL answered {response.status_code}: {response.text[:200]}")
        check(response.content == originals["solo.png"], "downloaded bytes differ from the original")

    save_dir = work / "downloads"
    with step("download all (skip existing), first run"):
        result = client.assets.download(ds, save_dir=save_dir, overwrite=False, show_progress=False)
        check(result.count == len(expected_names), f"count {result.count}")
        target = Path(result.save_dir)
        check(target == save_dir / ds, f"save_dir {target}")
        files = {p.name: p for p in target.iterdir() if p.is_file()}
        check(set(files) == expected_names, f"downloaded {sorted(files)}")
        for name, path in files.items():
            check(path.read_bytes() == originals[name], f"{name}: bytes differ from the original")
        before = {name: (p.stat().st_mtime_ns, p.stat().st_ino) for name, p in files.items()}

    with step("download all (skip existing), second run writes nothing"):
        result = client.assets.download(ds, save_dir=save_dir, overwrite=False, show_progress=False)
        files = {p.name: p for p in (save_dir / ds).iterdir() if p.is_file()}
        check(set(files) == expected_names, f"files now {sorted(files)}")
        for name, path in files.items():
            check(path.read_bytes() == originals[name], f"{name}: bytes changed")
            check((path.stat().st_mtime_ns, path.stat().st_ino) == before[name], f"{name} was written again")

    gamma_id = by_name["gamma.png"].asset_id
    with step("rename an asset by id, and back by filename"):
        renamed = client.assets.rename(ds, "gamma-renamed.png", asset_id=gamma_id)
        check(renamed.get("filename") == "gamma-renamed.png", f"rename answered {renamed}")
        check(client.assets.get(ds, gamma_id).filename == "gamma-renamed.png", "the new name does not show")
        back = client.assets.rename(ds, "gamma.png", filename="gamma-renamed.png")
        check(back.get("assetId") == gamma_id and back.get("filename") == "gamma.png", f"rename back answered {back}")

    beta_id = by_name["beta.png"].asset_id
    with step("delete an asset"):
        deleted = client.assets.delete(ds, beta_id)
        check(deleted.deleted and deleted.id == beta_id, f"delete returned {deleted}")
        count = client.assets.count(ds)
        check(count == len(expected_names) - 1, f"count after delete {count}")
        try:
            client.assets.get(ds, beta_id)
        except vi.ViNotFoundError:
            pass
        else:
            raise ScenarioError("the deleted asset can still be fetched")

    with step("download the dataset with its labels (get_dataset: export, wait, ranges, unzip)"):
        target = work / "export"
        try:
            got = client.get_dataset(ds, save_dir=target, overwrite=True, show_progress=False)
        except FileExistsError:
            # vi-sdk's parallel unzip races on creating a folder (see interop/README.md);
            # the folders exist now, so a second run cannot race.
            print("   (vi-sdk's parallel extraction raced on a folder: retrying once)", flush=True)
            got = client.get_dataset(ds, save_dir=target, overwrite=True, show_progress=False)
        images = Path(got.save_dir) / "dump" / "images"
        files = {p.name: p.read_bytes() for p in images.iterdir() if p.is_file()}
        expected = {name: data for name, data in originals.items() if name != "beta.png"}
        check(set(files) == set(expected), f"exported {sorted(files)}, expected {sorted(expected)}")
        for name, data in files.items():
            check(data == expected[name], f"{name}: bytes differ from the original")
        check((Path(got.save_dir) / "metadata.json").is_file(), "no metadata.json")
        step.note(f"{len(files)} images")

    with step("delete the dataset"):
        gone = client.datasets.delete(ds)
        check(gone.dataset_id.endswith("_" + ds) or gone.dataset_id == ds, f"deleted {gone.dataset_id}")
        try:
            client.datasets.get(ds)
        except vi.ViNotFoundError:
            pass
        else:
            raise ScenarioError("the deleted dataset can still be fetched")

    print(f"official client scenario: all {step.count} steps passed")


class Step:
    """Context manager naming the running step; failures become a ScenarioError."""

    def __init__(self) -> None:
        self.count = 0
        self.name = ""
        self._note = ""

    def __call__(self, name: str) -> "Step":
        self.name = name
        self._note = ""
        return self

    def note(self, text: str) -> None:
        self._note = text

    def __enter__(self) -> "Step":
        self.count += 1
        return self

    def __exit__(self, kind, value, tb) -> bool:
        if value is None:
            suffix = f" ({self._note})" if self._note else ""
            print(f"  [ok] {self.count:2}. {self.name}{suffix}", flush=True)
            return False
        print(f"  [FAILED] {self.count:2}. {self.name}", flush=True)
        if isinstance(value, ScenarioError):
            raise ScenarioError(f"step {self.count} ({self.name}): {value}") from None
        traceback.print_exception(kind, value, tb)
        raise ScenarioError(f"step {self.count} ({self.name}): {kind.__name__}: {value}") from None


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "make-samples":
        make_samples(Path(argv[2]))
        return 0
    if len(argv) == 4 and argv[1] == "run":
        try:
            run(Path(argv[2]), Path(argv[3]))
        except ScenarioError as e:
            print(f"official client scenario FAILED: {e}", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
