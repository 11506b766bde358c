#!/usr/bin/env bash
# A small English corpus for scripts/bench_cleanup.py with the fillers the example recordings lack:
# discourse markers that no comma sets off, contractions, numbers and compounds beside their first word
# (We've/we, 3.5/3, well-known/well, Newcastle/New). Each recording comes with <stem>.ref.txt (what is
# said) and <stem>.clean.txt. Needs: apt-get install espeak-ng ffmpeg.
#   scripts/make_marker_corpus.sh /tmp/markers && python scripts/bench_cleanup.py --input /tmp/markers
set -euo pipefail
out=${1:?usage: make_marker_corpus.sh OUTPUT_FOLDER}
mkdir -p "$out"
say() {  # say STEM VERBATIM CLEAN
    printf '%s\n' "$2" > "$out/$1.ref.txt"
    printf '%s\n' "$3" > "$out/$1.clean.txt"
    espeak-ng -v en-us -s 150 -w "$out/$1.wav" "$2"
    ffmpeg -loglevel error -y -i "$out/$1.wav" -ar 16000 -ac 1 "$out/$1.flac"
    rm "$out/$1.wav"
}
say server "Um, and you know the server was down again on Monday. I mean it broke again, uh, after the update." \
    "And the server was down again on Monday. It broke again after the update."
say report "The report that, like, Jenny sent was late, you know. We've, we've fixed it on Tuesday." \
    "The report that Jenny sent was late. We've fixed it on Tuesday."
say budget "So I think, uh, the budget is, like, fine. You know what I mean? We can, we can ship version 3.5." \
    "So I think the budget is fine. You know what I mean? We can ship version 3.5."
say newcastle "Dana's team, um, you know, finished the well-known Newcastle project. It's, it's done, I mean." \
    "Dana's team finished the well-known Newcastle project. It's done."
