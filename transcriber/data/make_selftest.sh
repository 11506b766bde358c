#!/usr/bin/env bash
# Regenerates the self-test's reference recording (selftest.ogg) and its text (selftest.txt).
#
# Why espeak-ng: small, free to redistribute and reproducible on any Debian machine; a clear voice that any
# Whisper model transcribes nearly word for word on the CPU, so a GPU that returns something else shows.
# About 12 s with numbers and names, long enough that a transcript cut short is visible. Opus at 24 kbit/s
# keeps it near 40 KB inside the package. Needs: apt-get install espeak-ng ffmpeg.
set -euo pipefail
cd "$(dirname "$0")"
text="The quick brown fox jumps over the lazy dog. Please call Stella and ask her to bring these things \
with her from the store: six spoons of fresh snow peas, five thick slabs of blue cheese, and maybe a snack."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us -s 150 -w "$tmp/speech.wav" "$text"
ffmpeg -loglevel error -y -i "$tmp/speech.wav" -ar 16000 -ac 1 -c:a libopus -b:a 24k selftest.ogg
printf '%s\n' "$text" >selftest.txt
