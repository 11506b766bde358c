"""Wall time of `invoke transcribe` in the container against `--local` on the same folder; prints numbers.

Both runs use the same model and flags and write to fresh folders, so neither resumes. The container run
includes starting and removing the container; the local run starts a fresh Python, as a user's would.
Needs the image (`invoke setup --gpu cpu` or `invoke build`) and the model in the host cache
(`invoke models --import tiny.en`); the env files and TRANSCRIBER_* variables apply as for the tasks.

Usage: python scripts/container_vs_local.py [FOLDER] [--model tiny.en] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(folder: Path, model: str, local: bool) -> float:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "invoke", "transcribe", "--input", str(folder), "--output", out,
                   "--model", model, "--formats", "txt,json", "--extra", "--language en"]  # fmt: skip
        start = time.perf_counter()
        result = subprocess.run([*command, *(["--local"] if local else [])], cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{'local' if local else 'container'} run failed ({result.returncode}): {result.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "examples" / "recordings")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for local in (False, True):
        runs = [timed(args.folder.resolve(), args.model, local) for _ in range(args.repeat)]
        label = "local    " if local else "container"
        print(f"{label} median {statistics.median(runs):6.2f} s  min {min(runs):6.2f} s  runs {len(runs)}")


if __name__ == "__main__":
    main()
