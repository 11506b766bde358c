#!/usr/bin/env bash
# Regenerates the example recordings and their reference texts.
#
# Why synthetic speech: the recordings must be small, free to redistribute and reproducible on any machine.
# hibari-tts (PyPI) speaks fillers such as "um" and "uh" naturally, and Whisper keeps them, which is what
# the cleanup stage needs to be tested against. Needs: pip install hibari-tts; apt-get install ffmpeg.
# Each recording has <stem>.ref.txt (what was said, verbatim) and <stem>.clean.txt (the clean reference).
set -euo pipefail
cd "$(dirname "$0")/recordings"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() {  # say SEED OUTPUT TEXT CLEAN: speak TEXT, encode to OUTPUT (16 kHz mono), write the references
    local seed=$1 out=$2 text=$3 clean=$4
    mkdir -p "$(dirname "$out")"
    hibari --seed "$seed" -o "$tmp/speech.wav" "$text"
    ffmpeg -loglevel error -y -i "$tmp/speech.wav" -ar 16000 -ac 1 "$out"
    printf '%s\n' "$text" >"${out%.*}.ref.txt"
    printf '%s\n' "$clean" >"${out%.*}.clean.txt"
}

say 1 "meeting.flac" \
    "Um, so we need to, uh, finalize the budget by Friday. I think, you know, the team in Berlin can, can handle the twelve remaining tasks. Uh, Sarah said the deadline is March third." \
    "So we need to finalize the budget by Friday. I think the team in Berlin can handle the twelve remaining tasks. Sarah said the deadline is March third."
say 3 "interviews/interview with Ana.mp3" \
    "Well, I mean, I started the company in twenty nineteen. We've, we've grown to forty people. Um, the hardest part was, uh, hiring. Honestly, I like people who, who ask questions." \
    "Well, I started the company in twenty nineteen. We've grown to forty people. The hardest part was hiring. Honestly, I like people who ask questions."
say 2 "notes/note café.ogg" \
    "Hmm, remember to, to call Doctor Patel about the appointment on Tuesday at three thirty. Er, and buy milk." \
    "Remember to call Doctor Patel about the appointment on Tuesday at three thirty. And buy milk."
