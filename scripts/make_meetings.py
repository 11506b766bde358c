"""Synthetic meetings of 1-6 voices recorded from real people, with overlapping turns and backchannels, and exact RTTM.

Real conversations overlap: the next speaker starts before the last one ends, and listeners say "yeah"
or "mm-hmm" over the speaker. Each meeting here is built from seeded random choices: which voices, who
speaks next, which sentence, whether the next turn overlaps the last (by 0.3-1.0 s) and whether a listener
drops a backchannel into a turn; each voice has its own loudness, and a faint noise floor lies under all.
The RTTM holds every utterance's true start and duration, overlaps and backchannels included, and `.stm`
holds each turn's words with its speaker (for speaker-attributed WER). Speakers are named by voice
(`rms-88`: rms at speed 0.88), so the same voice has the same name in every meeting.

The voices are synthesised from recordings of real people, not rule-made like espeak-ng's (whose voices
CAM++ rates 0.85-0.95 alike, as alike as one voice with itself): flite's CMU voices and festival's ked.
Each person speaks at three speeds (sox `speed`: pitch, formants and tempo together, like a shorter or
longer vocal tract, the way speaker-recognition training makes new speakers), so a meeting of six has six
voices. CAM++ cosine, whole sentences: one voice with itself 0.83-0.93, a person at two speeds 0.62-0.72,
two people 0.27-0.55.

Two disjoint sets, so thresholds are never tuned on what is reported: `tune` (seed 1000+, the people kal
and ked, the first half of the sentences) and `test` (seed 2000+, the people awb, rms and slt, the second
half). Written as 16 kHz mono Ogg Opus, 24 kbit/s; `--phone` cuts the mix to the telephone band first
(300-3400 Hz, 8 kHz sampling), so thresholds are tuned on narrow-band speech too; `--vary` gives each
turn its own pitch (F0 only, +-150 cents), tempo (+-10 %) and tone (+-4 dB treble and bass), since one
real person's turns differ where a synthetic voice's never do (the real call's person: two turns 0.75 alike).

Needs: apt-get install flite festival festvox-kdlpc16k sox ffmpeg.
Run:   python scripts/make_meetings.py --set test --out /tmp/meetings
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

RATE = 16000
SPEEDS = (0.88, 1.0, 1.12)
PEOPLE = {
    "tune": (("flite", "kal16"), ("festival", "ked_diphone")),
    "test": (("flite", "awb"), ("flite", "rms"), ("flite", "slt")),
}
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
SETS = {"tune": (1000, 0), "test": (2000, 1)}  # seed base, which half of the sentences
SIZES = (1, 2, 2, 3, 3, 4, 4, 5, 5, 6)  # speakers per meeting, in order
Voice = tuple[str, str, float]  # engine, voice, speed


def voices(name: str) -> list[Voice]:
    """Every (person, speed) of one set."""
    return [(engine, voice, speed) for engine, voice in PEOPLE[name] for speed in SPEEDS]


def voice_name(voice: Voice) -> str:
    return f"{voice[1].split('_')[0].removesuffix('16')}-{round(voice[2] * 100)}"


def speak(text: str, voice: Voice, folder: Path, vary: random.Random | None = None) -> np.ndarray:
    """One utterance as float samples at `RATE`, at the voice's speed, silence trimmed off both ends; `vary`
    gives the turn its own pitch (F0 only, formants kept), tempo and brightness, as one person's turns differ."""
    engine, name, speed = voice
    raw, out = folder / "turn.wav", folder / "turn16k.wav"
    if engine == "flite":
        subprocess.run(["flite", "-voice", name, "-t", text, "-o", str(raw)], check=True)
    else:
        cmd = ["text2wave", "-eval", f"(voice_{name})", "-o", str(raw)]
        subprocess.run(cmd, input=text.encode(), check=True, capture_output=True)
    effects = ["speed", str(speed)]
    if vary:
        effects += ["pitch", f"{vary.uniform(-150, 150):.0f}", "tempo", f"{vary.uniform(0.9, 1.1):.3f}"]
        effects += ["treble", f"{vary.uniform(-4, 4):.1f}", "bass", f"{vary.uniform(-4, 4):.1f}"]
    subprocess.run(["sox", str(raw), "-b", "16", str(out), *effects, "rate", str(RATE)], check=True)
    with wave.open(str(out)) as handle:
        samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    samples = samples[loud[0] : loud[-1] + 1]
    return samples * 0.1 / max(float(np.sqrt(np.mean(samples**2))), 1e-6)  # one loudness for every voice


def encode(samples: np.ndarray, target: Path, folder: Path, phone: bool = False) -> None:
    """Write `samples` as 16 kHz mono Ogg Opus (24 kbit/s) through ffmpeg; `phone` first cuts them to the
    telephone band (8 kHz sampling, 300-3400 Hz), as a real call sounds."""
    raw = folder / "mix.wav"
    with wave.open(str(raw), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-i", str(raw)]
    if phone:
        cmd += ["-af", "highpass=f=300,lowpass=f=3400,aresample=8000,aresample=16000"]
    cmd += ["-ar", "16000", "-ac", "1"]
    subprocess.run([*cmd, "-c:a", "libopus", "-b:a", "24k", "-map_metadata", "-1", str(target)], check=True)


def meeting(
    stem: str, speakers: int, seed: int, kind: str, out: Path, folder: Path, turns: int, phone: bool, vary: bool
) -> None:
    """One meeting: `turns` turns among `speakers` voices, some overlapping, some with a backchannel."""
    rng = random.Random(seed)
    variation = random.Random(seed + 500) if vary else None
    pool = voices(kind)
    sentences = SENTENCES[SETS[kind][1] :: 2]
    cast = [pool[n] for n in rng.sample(range(len(pool)), speakers)]
    gains = [rng.uniform(0.6, 1.4) for _ in cast]
    names = [voice_name(v) for v in cast]
    events: list[tuple[float, str, np.ndarray, str]] = []  # start, speaker, samples, text
    at, last = 0.5, -1
    order = list(range(speakers))
    rng.shuffle(order)
    for n in range(turns):
        # everyone speaks early on, then a random other speaker each turn
        who = order[n] if n < speakers else rng.choice([s for s in range(speakers) if s != last] or [0])
        text = " ".join(rng.sample(sentences, rng.choice((1, 1, 2))))
        speech = speak(text, cast[who], folder, variation) * gains[who]
        if events and speakers > 1 and rng.random() < 0.3:
            at -= rng.uniform(0.3, 1.0)  # start before the last speaker has finished
        events.append((at, names[who], speech, text))
        duration = len(speech) / RATE
        if speakers > 1 and duration > 3 and rng.random() < 0.35:
            listener = rng.choice([s for s in range(speakers) if s != who])
            word = rng.choice(BACKCHANNELS)
            start = at + rng.uniform(1.0, duration - 1.0)
            said = speak(word, cast[listener], folder, variation) * gains[listener]
            events.append((start, names[listener], said, word))
        at += duration + rng.uniform(0.2, 0.9)
        last = who
    events.sort(key=lambda e: e[0])
    length = int((max(s + len(x) / RATE for s, _, x, _ in events) + 0.5) * RATE)
    mix = np.random.default_rng(seed).normal(0.0, 0.002, length).astype(np.float32)  # a faint noise floor
    rttm, stm = [], []
    for start, name, speech, text in events:
        first = int(start * RATE)
        mix[first : first + len(speech)] += speech
        rttm.append(f"SPEAKER {stem} 1 {start:.3f} {len(speech) / RATE:.3f} <NA> <NA> {name} <NA> <NA>")
        stm.append(f"{stem} 1 {name} {start:.3f} {start + len(speech) / RATE:.3f} {text}")
    encode(mix, out / f"{stem}.ogg", folder, phone)
    (out / f"{stem}.rttm").write_text("\n".join(rttm) + "\n")
    (out / f"{stem}.stm").write_text("\n".join(stm) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), default="test")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--turns", type=int, default=14, help="turns per meeting (backchannels not counted)")
    parser.add_argument("--phone", action="store_true", help="telephone band (names end in _phone)")
    parser.add_argument("--vary", action="store_true", help="each turn its own pitch, tempo, tone (names end in _vary)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="speakers per meeting, comma-separated")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for n, speakers in enumerate(int(s) for s in args.sizes.split(",")):
            stem = f"{args.set}_{n:02d}_{speakers}spk" + "_phone" * args.phone + "_vary" * args.vary
            turns = max(args.turns, speakers + 2)
            meeting(stem, speakers, SETS[args.set][0] + n, args.set, args.out, Path(tmp), turns, args.phone, args.vary)
            print(stem, flush=True)


if __name__ == "__main__":
    main()
