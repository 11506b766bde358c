"""Synthetic meetings of 1-6 people (voices recorded from real people) with overlaps, backchannels, exact RTTM.

Real conversations overlap: the next speaker starts before the last one ends, and listeners say "yeah"
or "mm-hmm" over the speaker. Each meeting here is built from seeded random choices: which voices, who
speaks next, which sentence, whether the next turn overlaps the last (by 0.3-1.0 s) and whether a listener
drops a backchannel into a turn; each voice has its own loudness, and a faint noise floor lies under all.
The RTTM holds every utterance's true start and duration, overlaps and backchannels included, and `.stm`
holds each turn's words with its speaker (for speaker-attributed WER). Speakers are named by person
(`rms`; `rms-88` is rms at speed 0.88), so the same voice has the same name in every meeting.

A meeting's voices are different people, as in a real meeting: each set has eight, from Debian's flite and
festival voices, all made from recordings of real people (not rule-made like espeak-ng's, whose voices
CAM++ rates 0.85-0.95 alike, as alike as one voice with itself). The English ones are flite's CMU voices
and festival's ked; the others speak their own language (Czech, Finnish, Italian, Catalan, Russian,
Hindi: the same kind of meeting talk), since a Czech voice reading English is not how that person talks.
CAM++ cosine, whole utterances of the tune people: one person with itself 0.84-0.96, two people 0.34-0.66.

`--set tune` (seeds 3000+; kal, ked, dita, ph, krb, lj, pc, nsk and the first half of each language's
sentences) and `--set test` (seeds 4000+; awb, rms, slt, machac, mv, lp, ona, nsh and the second half)
share no person, no sentence and no seed, so thresholds are never tuned on what is reported. Meetings
have 2-6 people (`--sizes`). `--speeds 0.88,1.0,1.12` adds each person at other speeds (sox `speed`:
pitch, formants and tempo together, the way speaker-recognition training makes new speakers) as voices
of their own; a meeting that wants more voices than a set has people gets speed variants too.

`--legacy` makes the old sets (stems without `people_`): two people (tune: kal, ked; seeds 1000+) or three
(test: awb, rms, slt; seeds 2000+), each at speeds 0.88, 1.0 and 1.12 as three "different" voices,
1-6 a meeting. To CAM++ one person at two speeds is 0.62-0.72 alike, more than one real person's own two
turns in the real call (0.75), so they are a test of telling speed
variants apart, not of telling people apart; `tests/fixtures/speakers/test_*` are those test meetings.

Written as 16 kHz mono Ogg Opus, 24 kbit/s; `--phone` cuts the mix to the telephone band first
(300-3400 Hz, 8 kHz sampling), so thresholds are tuned on narrow-band speech too; `--vary` gives each
turn its own pitch (F0 only, +-150 cents), tempo (+-10 %) and tone (+-4 dB treble and bass), since one
real person's turns differ where a synthetic voice's never do (the real call's person: two turns 0.75 alike).

Needs: apt-get install flite festival sox ffmpeg festvox-kdlpc16k festvox-czech-dita festvox-czech-ph
festvox-czech-krb festvox-czech-machac festvox-suopuhe-lj festvox-suopuhe-mv festvox-italp16k
festvox-itapc16k festvox-ca-ona-hts festvox-ru festvox-hi-nsk (all Debian main).
Run:   python scripts/make_meetings.py --set test --out /tmp/meetings
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000
SPEEDS = (0.88, 1.0, 1.12)  # the speed variants of one person (`--speeds`, and the `--legacy` sets)
# The `--legacy` sets: two or three people, each at the three SPEEDS.
LEGACY_PEOPLE = {
    "tune": (("flite", "kal16"), ("festival", "ked_diphone")),
    "test": (("flite", "awb"), ("flite", "rms"), ("flite", "slt")),
}
# Eight different people a set, none in both (engine, voice, language); Debian's flite and festvox voices.
PEOPLE = {
    "tune": (
        ("flite", "kal16", "en"),  # US male
        ("festival", "ked_diphone", "en"),  # US male
        ("festival", "czech_dita", "cs"),  # female
        ("festival", "czech_ph", "cs"),  # male
        ("festival", "czech_krb", "cs"),  # a boy
        ("festival", "suo_fi_lj_diphone", "fi"),  # female
        ("festival", "pc_diphone", "it"),  # male
        ("festival", "hindi_NSK_diphone", "hi"),  # male
    ),
    "test": (
        ("flite", "awb", "en"),  # Scottish male
        ("flite", "rms", "en"),  # US male
        ("flite", "slt", "en"),  # US female
        ("festival", "czech_machac", "cs"),  # male
        ("festival", "hy_fi_mv_diphone", "fi"),  # male
        ("festival", "lp_diphone", "it"),  # female
        ("festival", "upc_ca_ona_hts", "ca"),  # female
        ("festival", "msu_ru_nsh_clunits", "ru"),  # male
    ),
}
NAMES = {"suo_fi_lj_diphone": "lj", "hy_fi_mv_diphone": "mv", "upc_ca_ona_hts": "ona", "msu_ru_nsh_clunits": "nsh"}
NAMES |= {"hindi_NSK_diphone": "nsk"}  # the people's own initials, not the voice packages' prefixes
ENCODING = {"cs": "iso-8859-2", "fi": "latin-1", "it": "latin-1", "ca": "latin-1"}  # festival reads bytes
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
# The same kind of talk in the other voices' own languages (a Czech voice reading English is not how
# that person speaks); each set takes its half, as with the English ones.
# ruff: noqa: RUF001 (Russian is written in Cyrillic)
NATIVE = {
    "cs": [
        "Myslím, že bychom měli začít rozpočtem, protože na něm závisí všechno ostatní.",
        "Čísla z minulého čtvrtletí byla lepší, než jsme čekali.",
        "Můžeme přesunout poradu na čtvrtek odpoledne?",
        "Náš tým včera večer dokončil první verzi zprávy.",
        "Mluvil jsem s dodavatelem a díly dodají za dva týdny.",
        "To zní rozumně, ale nejdřív musíme zkontrolovat smlouvu.",
        "Nová kancelář se otevře v březnu, pokud stavaři dodrží plán.",
        "Zákazníci se pořád ptají na jednodušší změnu hesla.",
        "Raději bych to pořádně otestoval, než to vydat v pátek.",
        "Přijali jsme dva nové inženýry a oba nastupují v pondělí.",
    ],
    "fi": [
        "Mielestäni meidän pitäisi aloittaa budjetista, koska kaikki muu riippuu siitä.",
        "Viime neljänneksen luvut olivat odotettua paremmat.",
        "Voimmeko siirtää katselmoinnin torstai-iltapäivään?",
        "Tiimimme sai raportin ensimmäisen version valmiiksi eilen illalla.",
        "Puhuin toimittajan kanssa, ja he voivat toimittaa osat kahdessa viikossa.",
        "Se kuulostaa järkevältä, mutta meidän täytyy ensin tarkistaa sopimus.",
        "Uusi toimisto avataan maaliskuussa, jos rakentajat pysyvät aikataulussa.",
        "Asiakkaat kysyvät jatkuvasti helpompaa tapaa vaihtaa salasana.",
        "Testaisin sen mieluummin kunnolla kuin julkaisisin sen perjantaina.",
        "Palkkasimme kaksi uutta insinööriä, ja molemmat aloittavat maanantaina.",
    ],
    "it": [
        "Penso che dovremmo cominciare dal bilancio, perché tutto il resto dipende da quello.",
        "I numeri dell'ultimo trimestre sono stati migliori del previsto.",
        "Possiamo spostare la revisione a giovedì pomeriggio?",
        "La nostra squadra ha finito ieri sera la prima versione del rapporto.",
        "Ho parlato con il fornitore e possono consegnare i pezzi in due settimane.",
        "Mi sembra ragionevole, ma prima dobbiamo controllare il contratto.",
        "Il nuovo ufficio aprirà a marzo se i costruttori rispettano il piano.",
        "I clienti continuano a chiedere un modo più semplice per cambiare la password.",
        "Preferirei provarlo bene piuttosto che rilasciarlo venerdì.",
        "Abbiamo assunto due nuovi ingegneri, e cominciano tutti e due lunedì.",
    ],
    "ca": [
        "Crec que hauríem de començar pel pressupost, perquè tota la resta en depèn.",
        "Les xifres de l'últim trimestre van ser millors del que esperàvem.",
        "Podem passar la revisió a dijous a la tarda?",
        "El nostre equip va acabar ahir al vespre la primera versió de l'informe.",
        "He parlat amb el proveïdor i poden lliurar les peces en dues setmanes.",
        "Sembla raonable, però primer hem de revisar el contracte.",
        "La nova oficina obrirà al març si els constructors compleixen el pla.",
        "Els clients continuen demanant una manera més senzilla de canviar la contrasenya.",
        "Preferiria provar-ho bé abans que publicar-ho divendres.",
        "Hem contractat dos enginyers nous, i tots dos comencen dilluns.",
    ],
    "ru": [
        "Я думаю, что нам нужно начать с бюджета, потому что от него зависит всё остальное.",
        "Цифры за прошлый квартал оказались лучше, чем мы ожидали.",
        "Можно перенести обсуждение на четверг после обеда?",
        "Наша команда вчера вечером закончила первую версию отчёта.",
        "Я поговорил с поставщиком, они могут привезти детали через две недели.",
        "Звучит разумно, но сначала нужно проверить договор.",
        "Новый офис откроется в марте, если строители уложатся в план.",
        "Клиенты всё время просят более простой способ сменить пароль.",
        "Я бы лучше как следует это проверил, чем выпускать в пятницу.",
        "Мы наняли двух новых инженеров, и оба начинают в понедельник.",
    ],
    "hi": [
        "मुझे लगता है कि हमें बजट से शुरू करना चाहिए, क्योंकि बाकी सब उसी पर निर्भर है।",
        "पिछली तिमाही के आंकड़े हमारी उम्मीद से बेहतर थे।",
        "क्या हम समीक्षा को गुरुवार दोपहर तक टाल सकते हैं?",
        "हमारी टीम ने कल शाम रिपोर्ट का पहला संस्करण पूरा कर लिया।",
        "मैंने सप्लायर से बात की, वे दो हफ्ते में पुर्जे भेज सकते हैं।",
        "यह ठीक लगता है, लेकिन पहले हमें अनुबंध देखना होगा।",
        "अगर काम योजना के अनुसार चला तो नया दफ्तर मार्च में खुलेगा।",
        "ग्राहक बार बार पासवर्ड बदलने का आसान तरीका मांगते हैं।",
        "मैं इसे शुक्रवार को जारी करने से पहले ठीक से जांचना चाहूंगा।",
        "हमने दो नए इंजीनियर रखे हैं, और दोनों सोमवार से शुरू करेंगे।",
    ],
}
BACKCHANNELS = {
    "en": ["yeah", "mm-hmm", "right", "okay", "sure", "uh-huh", "exactly", "I see"],
    "cs": ["jo", "ano", "jasně", "aha"],
    "fi": ["joo", "niin", "aivan", "okei"],
    "it": ["sì", "certo", "esatto", "va bene"],
    "ca": ["sí", "és clar", "d'acord", "exacte"],
    "ru": ["да", "конечно", "точно", "ага"],
    "hi": ["हाँ", "ठीक है", "बिल्कुल", "अच्छा"],
}
# seed base, which half of the sentences; the people sets take other seeds than the legacy ones
SETS = {"tune": (1000, 0), "test": (2000, 1)}
PEOPLE_SEEDS = {"tune": 3000, "test": 4000}
SIZES = (1, 2, 2, 3, 3, 4, 4, 5, 5, 6)  # speakers per meeting, in order (legacy)
PEOPLE_SIZES = (2, 3, 4, 5, 6, 2, 3, 4, 5, 6)
Voice = tuple[str, str, float, str]  # engine, voice, speed, language


def voices(name: str, legacy: bool = False, speeds: tuple[float, ...] = (1.0,), least: int = 0) -> list[Voice]:
    """Every voice of one set: its people at `speeds`, and at the other SPEEDS too where a meeting wants more
    voices (`least`) than that; `legacy`: the two or three people of the old sets at the three SPEEDS."""
    if legacy:
        return [(engine, voice, speed, "en") for engine, voice in LEGACY_PEOPLE[name] for speed in SPEEDS]
    pool = [(engine, voice, speed, language) for engine, voice, language in PEOPLE[name] for speed in speeds]
    extra = [(e, v, s, lang) for e, v, lang in PEOPLE[name] for s in SPEEDS if s not in speeds]
    return pool + extra[: max(0, least - len(pool))]


def voice_name(voice: Voice, legacy: bool = False) -> str:
    """`rms-88` (rms at speed 0.88); a person at speed 1.0 outside the legacy sets is just `rms`."""
    person = NAMES.get(voice[1], voice[1].removeprefix("czech_").split("_")[0].removesuffix("16"))
    return person if voice[2] == 1.0 and not legacy else f"{person}-{round(voice[2] * 100)}"


def speak(text: str, voice: Voice, folder: Path, vary: random.Random | None = None) -> np.ndarray:
    """One utterance as float samples at `RATE`, at the voice's speed, silence trimmed off both ends; `vary`
    gives the turn its own pitch (F0 only, formants kept), tempo and brightness, as one person's turns differ."""
    engine, name, speed, language = voice
    raw, out = folder / "turn.wav", folder / "turn16k.wav"
    if engine == "flite":
        subprocess.run(["flite", "-voice", name, "-t", text, "-o", str(raw)], check=True)
    else:
        cmd = ["text2wave", "-eval", f"(voice_{name})", "-o", str(raw)]
        encoded = text.encode(ENCODING.get(language, "utf-8"))
        subprocess.run(cmd, input=encoded, check=True, capture_output=True)
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


@dataclass(frozen=True)
class Options:
    """What every meeting of a run shares: its set, the voices to draw from, and how the mix sounds."""

    kind: str  # "tune" or "test"
    pool: list[Voice]
    legacy: bool
    turns: int
    phone: bool
    vary: bool


def meeting(stem: str, speakers: int, seed: int, options: Options, out: Path, folder: Path) -> None:
    """One meeting: `options.turns` turns among `speakers` voices, some overlapping, some with a backchannel;
    each voice speaks its own language's half of the sentences of the set."""
    rng = random.Random(seed)
    variation = random.Random(seed + 500) if options.vary else None
    half = SETS[options.kind][1]
    pool = options.pool
    cast = [pool[n] for n in rng.sample(range(len(pool)), speakers)]
    gains = [rng.uniform(0.6, 1.4) for _ in cast]
    names = [voice_name(v, options.legacy) for v in cast]
    sentences = [(SENTENCES if v[3] == "en" else NATIVE[v[3]])[half::2] for v in cast]
    events: list[tuple[float, str, np.ndarray, str]] = []  # start, speaker, samples, text
    at, last = 0.5, -1
    order = list(range(speakers))
    rng.shuffle(order)
    for n in range(options.turns):
        # everyone speaks early on, then a random other speaker each turn
        who = order[n] if n < speakers else rng.choice([s for s in range(speakers) if s != last] or [0])
        text = " ".join(rng.sample(sentences[who], rng.choice((1, 1, 2))))
        speech = speak(text, cast[who], folder, variation) * gains[who]
        if events and speakers > 1 and rng.random() < 0.3:
            at -= rng.uniform(0.3, 1.0)  # start before the last speaker has finished
        events.append((at, names[who], speech, text))
        duration = len(speech) / RATE
        if speakers > 1 and duration > 3 and rng.random() < 0.35:
            listener = rng.choice([s for s in range(speakers) if s != who])
            word = rng.choice(BACKCHANNELS[cast[listener][3]])
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
    encode(mix, out / f"{stem}.ogg", folder, options.phone)
    (out / f"{stem}.rttm").write_text("\n".join(rttm) + "\n")
    (out / f"{stem}.stm").write_text("\n".join(stm) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), default="test")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--turns", type=int, default=14, help="turns per meeting (backchannels not counted)")
    parser.add_argument("--phone", action="store_true", help="telephone band (names end in _phone)")
    parser.add_argument("--vary", action="store_true", help="each turn its own pitch, tempo, tone (names end in _vary)")
    parser.add_argument("--sizes", help="speakers per meeting, comma-separated (default 2-6 twice; legacy 1-6)")
    parser.add_argument("--speeds", default="1.0", help="each person at these speeds, comma-separated (sox speed)")
    parser.add_argument("--legacy", action="store_true", help="the old sets: 2-3 people at three speeds each")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(SIZES if args.legacy else PEOPLE_SIZES)
    speeds = tuple(float(s) for s in args.speeds.split(","))
    pool = voices(args.set, args.legacy, speeds, least=max(sizes))
    first = SETS[args.set][0] if args.legacy else PEOPLE_SEEDS[args.set]
    with tempfile.TemporaryDirectory() as tmp:
        for n, speakers in enumerate(sizes):
            stem = f"{args.set}_{n:02d}_{speakers}spk" if args.legacy else f"people_{args.set}_{n:02d}_{speakers}spk"
            stem += "_phone" * args.phone + "_vary" * args.vary
            options = Options(args.set, pool, args.legacy, max(args.turns, speakers + 2), args.phone, args.vary)
            meeting(stem, speakers, first + n, options, args.out, Path(tmp))
            print(stem, " ".join(sorted({voice_name(v, args.legacy) for v in pool})) if n == 0 else "", flush=True)


if __name__ == "__main__":
    main()
