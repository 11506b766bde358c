#!/usr/bin/env python3
"""Make a small benchmark corpus: spoken recordings with verbatim and clean references beside them.

Two voices, so the numbers are not about one synthetic speaker: hibari-tts (PyPI; speaks fillers the way
people do, and Whisper keeps them) and Debian's espeak-ng (a robotic voice that tests robustness). Each
recording is `<stem>.flac` with `<stem>.ref.txt` (what is said) and `<stem>.clean.txt` (the clean text),
the layout `transcriber bench` reads. Needs: pip install hibari-tts; apt-get install espeak-ng.

    python scripts/make_bench_corpus.py bench-corpus && invoke bench --input bench-corpus --local
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

#: (stem, verbatim, clean): meetings, interviews and voice notes with fillers, repeats, names and numbers.
SCRIPT = [
    (
        "standup",
        "Um, so yesterday I, uh, finished the login page. Today I'm, I'm going to work on the, the payment flow "
        "with Priya. No blockers, I think.",
        "So yesterday I finished the login page. Today I'm going to work on the payment flow with Priya. "
        "No blockers, I think.",
    ),
    (
        "budget",
        "Okay, the, uh, the budget for Q3 is forty two thousand euros. We spent, um, about sixty percent of it "
        "already, you know, mostly on travel.",
        "Okay, the budget for Q3 is forty two thousand euros. We spent about sixty percent of it already, "
        "mostly on travel.",
    ),
    (
        "interview",
        "I mean, I grew up in Lisbon and, uh, moved to Toronto in two thousand twelve. It was, it was a big "
        "change, honestly.",
        "I grew up in Lisbon and moved to Toronto in two thousand twelve. It was a big change, honestly.",
    ),
    (
        "voice-note",
        "Hmm, remind me to email Doctor Okafor about the, the results on Thursday. Er, and book the flights.",
        "Remind me to email Doctor Okafor about the results on Thursday. And book the flights.",
    ),
    (
        "lecture",
        "So, um, photosynthesis has two stages. The first, the first stage needs light, and the second, uh, does not.",
        "So, photosynthesis has two stages. The first stage needs light, and the second does not.",
    ),
]


def _encode(source: Path, target: Path) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(source), "-ar", "16000", "-ac", "1", str(target)],
                   check=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, help="folder to write the corpus into")
    args = parser.parse_args()
    for tool in ("ffmpeg", "espeak-ng"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install {tool}")
    try:
        from hibari import Hibari
    except ImportError:
        raise SystemExit("hibari-tts is missing: pip install hibari-tts") from None
    voice = Hibari()
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for index, (stem, verbatim, clean) in enumerate(SCRIPT):
            for engine in ("hibari", "espeak"):
                wav = Path(tmp) / f"{stem}-{engine}.wav"
                if engine == "hibari":
                    voice.save(verbatim, str(wav), seed=index)
                else:
                    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), verbatim], check=True)
                name = f"{stem}-{engine}"
                _encode(wav, args.output / f"{name}.flac")
                (args.output / f"{name}.ref.txt").write_text(verbatim + "\n", encoding="utf-8")
                (args.output / f"{name}.clean.txt").write_text(clean + "\n", encoding="utf-8")
    print(f"wrote {2 * len(SCRIPT)} recordings with references to {args.output}")


if __name__ == "__main__":
    main()
