"""The command line of the SciFact studies (bench/fusion_cv.py, bench/title_boost_cv.py)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DEFAULT_SCIFACT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"
DEFAULT_CACHE = Path(os.environ.get("PAPERWIRE_CACHE_DIR", "~/.cache/paperwire")).expanduser()


def parse(doc: str) -> argparse.Namespace:
    """--scifact (the BEIR folder) and --cache (where the model and the embedded corpus are kept)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scifact", type=Path, default=DEFAULT_SCIFACT)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    if not args.scifact.is_dir():
        raise SystemExit(f"SciFact not found at {args.scifact}; pass --scifact PATH (see ../shared/data/README.md)")
    return args
