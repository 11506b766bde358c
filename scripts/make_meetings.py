"""Synthetic meetings of 2-6 espeak-ng voices, with overlapping turns and backchannels, and exact RTTM.

Real conversations overlap: the next speaker starts before the last one ends, and listeners say "yeah"
or "mm-hmm" over the speaker. Each meeting here is built from seeded random choices: which voices (from a
pool of espeak-ng voice, variant and pitch combinations), who speaks next, which sentence, whether the
next turn overlaps the last (by 0.3-1.0 s) and whether a listener drops a backchannel into a turn. The
RTTM holds every utterance's true start and duration, overlaps and backchannels included, and `.stm`
holds each turn's words with its speaker (for speaker-attributed WER). Speakers are named by voice
(`voice<n>`, its place in `VOICE_POOL`), so the same voice has the same name in every meeting.

Two disjoint sets, so thresholds are never tuned on what is reported: `tune` (seed 1000+, voices and
sentences from the first halves of the pools) and `test` (seed 2000+, the second halves). Written as
16 kHz mono Ogg Opus, 24 kbit/s.

Needs: apt-get install espeak-ng ffmpeg.
Run:   python scripts/make_meetings.py --set test --out tests/fixtures/diarize/meetings
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

RATE = 22050  # espeak-ng's own output rate
# (espeak-ng voice+variant, pitch 0-99, words per minute), spread over variant, gender and pitch so that
# no two voices of one set sound alike; even places are the tuning set's, odd the test set's.
VOICE_POOL = [
    ("en-us+m1", 15, 160),
    ("en-gb-scotland+m4", 20, 175),
    ("en-gb+f2", 80, 170),
    ("en-us+f1", 85, 160),
    ("en-us+Lee", 45, 150),
    ("en-us-nyc+m2", 50, 170),
    ("en-gb-x-rp+f4", 35, 175),
    ("en-gb+f5", 40, 155),
    ("en-029+m7", 70, 155),
    ("en-gb-x-gbclan+m6", 75, 160),
    ("en-us+annie", 60, 165),
    ("en-us+f3", 55, 165),
]
SENTENCES = [
    "I think we should start with the budget, because everything else depends on it.",
    "The numbers from last quarter were better than we expected.",
    "Can we move the review to Thursday afternoon instead?",
    "Our team finished the first version of the report yesterday evening.",
    "I spoke to the supplier and they can deliver the parts in two weeks.",
    "That sounds reasonable, but we need to check the contract first.",
    "The new office will open in March if the builders keep to the plan.",
    "Customers keep asking for a simpler way to change their password.",
    "I would rather test it properly than ship it on Friday.",
    "We hired two new engineers, and both start on Monday.",
    "The training budget is almost gone for this year.",
    "Let me share the slides so everyone can see the chart.",
    "The server costs doubled after the traffic spike in June.",
    "We could ask the design team to help with the onboarding screens.",
    "I am not sure the survey results are representative.",
    "Marketing wants the launch date fixed before the end of the month.",
    "The warehouse in Leeds is running out of space again.",
    "My main worry is that nobody owns the migration.",
    "We should write down the decision and send it to everyone.",
    "Last time we tried that, it took three months instead of one.",
    "The pilot customers were happy with the new dashboard.",
    "Could you send me the spreadsheet after the call?",
    "I can take that action, and I will report back next week.",
    "The legal review is the slowest part of the whole process.",
    "Our response times improved by almost twenty percent.",
    "I agree with the plan, as long as we keep the scope small.",
    "We still have four open bugs in the payment flow.",
    "The conference in Berlin was useful for meeting partners.",
    "Let us keep the next meeting short and focus on the risks.",
    "Half of the tickets last week were about the same problem.",
    "I will book a room for the workshop on the twelfth.",
    "The new laptops arrived, but the software is not installed yet.",
    "We need a second opinion on the security questions.",
    "Sales in the north grew faster than in the south.",
    "The intern built a small tool that saves us an hour a day.",
    "Please keep the documentation up to date when you change the code.",
]
BACKCHANNELS = ["yeah", "mm-hmm", "right", "okay", "sure", "uh-huh", "exactly", "I see"]
SETS = {"tune": (1000, 0), "test": (2000, 1)}  # seed base, which half of the pools
SIZES = (2, 2, 3, 3, 4, 4, 5, 6)  # speakers per meeting, in order


def speak(text: str, voice: tuple[str, int, int], folder: Path) -> np.ndarray:
    """One utterance as float samples at `RATE`, espeak-ng's own silence trimmed off both ends."""
    name, pitch, speed = voice
    out = folder / "turn.wav"
    cmd = ["espeak-ng", "-v", name, "-p", str(pitch), "-s", str(speed), "-w", str(out), text]
    subprocess.run(cmd, check=True)
    with wave.open(str(out)) as handle:
        samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    return samples[loud[0] : loud[-1] + 1] * 0.7


def encode(samples: np.ndarray, target: Path, folder: Path) -> None:
    """Write `samples` as 16 kHz mono Ogg Opus (24 kbit/s) through ffmpeg."""
    raw = folder / "mix.wav"
    with wave.open(str(raw), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-i", str(raw), "-ar", "16000", "-ac", "1"]
    subprocess.run([*cmd, "-c:a", "libopus", "-b:a", "24k", "-map_metadata", "-1", str(target)], check=True)


def meeting(stem: str, speakers: int, seed: int, half: int, out: Path, folder: Path, turns: int) -> None:
    """One meeting: `turns` turns among `speakers` voices, some overlapping, some with a backchannel."""
    rng = random.Random(seed)
    voices = VOICE_POOL[half::2]
    sentences = SENTENCES[half::2]
    cast = rng.sample(range(len(voices)), speakers)
    names = [f"voice{2 * cast[n] + half}" for n in range(speakers)]  # one voice, one name across meetings
    events: list[tuple[float, str, np.ndarray, str]] = []  # start, speaker, samples, text
    at, last = 0.5, -1
    order = list(range(speakers))
    rng.shuffle(order)
    for n in range(turns):
        # everyone speaks early on, then a random other speaker each turn
        who = order[n] if n < speakers else rng.choice([s for s in range(speakers) if s != last])
        text = " ".join(rng.sample(sentences, rng.choice((1, 1, 2))))
        speech = speak(text, voices[cast[who]], folder)
        if events and rng.random() < 0.3:
            at -= rng.uniform(0.3, 1.0)  # start before the last speaker has finished
        events.append((at, names[who], speech, text))
        duration = len(speech) / RATE
        if speakers > 1 and duration > 3 and rng.random() < 0.35:
            listener = rng.choice([s for s in range(speakers) if s != who])
            word = rng.choice(BACKCHANNELS)
            events.append(
                (
                    at + rng.uniform(1.0, duration - 1.0),
                    names[listener],
                    speak(word, voices[cast[listener]], folder),
                    word,
                )
            )
        at += duration + rng.uniform(0.2, 0.9)
        last = who
    events.sort(key=lambda e: e[0])
    mix = np.zeros(int((max(s + len(x) / RATE for s, _, x, _ in events) + 0.5) * RATE), np.float32)
    rttm, stm = [], []
    for start, name, speech, text in events:
        first = int(start * RATE)
        mix[first : first + len(speech)] += speech
        rttm.append(f"SPEAKER {stem} 1 {start:.3f} {len(speech) / RATE:.3f} <NA> <NA> {name} <NA> <NA>")
        stm.append(f"{stem} 1 {name} {start:.3f} {start + len(speech) / RATE:.3f} {text}")
    encode(mix, out / f"{stem}.ogg", folder)
    (out / f"{stem}.rttm").write_text("\n".join(rttm) + "\n")
    (out / f"{stem}.stm").write_text("\n".join(stm) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), default="test")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--turns", type=int, default=14, help="turns per meeting (backchannels not counted)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="speakers per meeting, comma-separated")
    args = parser.parse_args()
    base, half = SETS[args.set]
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for n, speakers in enumerate(int(s) for s in args.sizes.split(",")):
            stem = f"{args.set}_{n:02d}_{speakers}spk"
            meeting(stem, speakers, base + n, half, args.out, Path(tmp), max(args.turns, speakers + 2))
            print(stem)


if __name__ == "__main__":
    main()
