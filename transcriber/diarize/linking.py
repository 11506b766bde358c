"""Local speakers of many window parts -> the recording's speakers: how many there are, and who is who.

The segmentation's local speakers are embedded per third of each 10 s window (`neural.PARTS`). Only
embeddings of local speakers with enough speech of their own in a part (`MIN_CLEAN_SECONDS`, no one talking
over them) decide the count: a "yeah" over someone else's turn never gets that far, so a backchannel cannot
become a speaker. They are clustered agglomeratively (average linkage, cosine distance) and the tree is cut
at `SAME_SPEAKER_DISTANCE`; `min_speakers`/`max_speakers` clamp the cut and a fixed count cuts the tree at
that many clusters. A cluster whose members add up to under `MIN_SPEAKER_SECONDS` of speech, or under
`MIN_SPEAKER_SHARE` of all the clean speech where that is more, is folded into the nearest other; windows
overlap (one every second), so each second of speech counts about seven to ten times there, and 20 s is
about two seconds of a voice's own speech. The share is what holds on long recordings: a voice's stray
clusters (parts where CAM++ hears it a little off) grow with the recording, and over 12 minutes of tune
meetings some passed 20 s (8 speakers for 6 voices; 12 for 6 with the 12 minutes twice, 14 thrice); 1 %
(about 0.7 % of the talk time: 25-35 s of a voice's own speech in an hour) folds them, and below about
2000 s of clean speech (some four minutes of talk) the seconds rule alone decides, as before. A fixed
count (or a `min_speakers` above the estimate) is capped at what the speech can hold: the tree is cut into
more clusters only while each keeps that much speech (so `--speakers 99` on a two-person call gives the
two, not 99 splinters of them; the stage says so). Every local speaker of every part (short ones included)
then takes the nearest centroid, distinct within its part (two voices heard at once are two speakers), by
the Hungarian assignment on cosine similarity.

A small cluster that the segmentation hears as one local speaker with another (in some window) and
never as two is then joined to it when alike enough (`_join_one_voice`): the real call split one person's
two turns (0.75 alike) though CAM++ rates two synthetic voices of one person more alike than that.

The tree needs every pairwise distance, twice over in scipy (its condensed matrix and the working copy):
8 bytes x n^2 for n clean embeddings, about 11,000 in an hour of meetings (nearly 1 GB). Past
`MOST_CLUSTERED` (4000: 128 MB, some 20 minutes of meetings; the 12-minute test recording has 2176) an
evenly spaced sample of that many is clustered, its seconds scaled up to the whole's so the speech rules
read the same, and the other clean embeddings join the nearest of its clusters; a voice with 1 % of the
speech still has some 40 members in the sample.

The three numbers were tuned on `scripts/make_meetings.py --legacy --set tune`, with and without `--phone` (twenty
meetings of 1-6 voices of two people at three speeds each; 17 of 20 counts right, DER 0.116), never on the
test set or the real call. The share was set on one 12-minute recording of the ten tune meetings joined
(and that twice and thrice, and the phone ones joined): 0.3 % still overcounts, 0.5 % and up give 6 of 6
everywhere and leave every single meeting as it was; 1 % leaves a margin. The join's two numbers were
set on those meetings and the `--vary` ones (each turn its own pitch, tempo and tone): 15 of 18 plain and
9 of 13 varied counts right with it (60 s, 0.7; no limit on seconds merges more voices), 16 and 6 without.
On the tune meetings of different people (`--set tune`: eight people, 2-6 a meeting) they give 10 of 10
(a cut of 0.32 too, 0.24 7 of 10, 0.36 9 of 10; the join changes nothing there), so they stand.
"""

from __future__ import annotations

import numpy as np

from transcriber.diarize import Count

SAME_SPEAKER_DISTANCE = 0.28
MIN_CLEAN_SECONDS = 1.25
MIN_SPEAKER_SECONDS = 20.0
MIN_SPEAKER_SHARE = 0.01
JOIN_SECONDS = 60.0
JOIN_SIMILARITY = 0.7
MOST_CLUSTERED = 4000


def _least_speech(seconds: np.ndarray) -> float:
    """The speech a cluster needs to be a speaker: `MIN_SPEAKER_SECONDS`, or `MIN_SPEAKER_SHARE` of all."""
    return max(MIN_SPEAKER_SECONDS, MIN_SPEAKER_SHARE * float(seconds.sum()))


def _normed(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-9)


def _cut(embeddings: np.ndarray, seconds: np.ndarray, voices: np.ndarray, count: Count) -> np.ndarray:
    """A cluster label (0..k-1) per clean embedding (`voices` (n, 2): its window and local speaker there);
    past `MOST_CLUSTERED` of them, a sample is clustered and the rest join the nearest of its clusters."""
    if len(embeddings) <= MOST_CLUSTERED:
        return _cut_all(embeddings, seconds, voices, count)
    sample = np.zeros(len(embeddings), dtype=bool)
    sample[np.linspace(0, len(embeddings) - 1, MOST_CLUSTERED).round().astype(int)] = True  # spread over time
    labels = np.empty(len(embeddings), dtype=int)
    share = seconds.sum() / seconds[sample].sum()  # the sample's seconds stand for the whole recording's
    clustered = _cut_all(embeddings[sample], seconds[sample] * share, voices[sample], count)
    labels[sample] = clustered
    centroids = _normed(np.stack([embeddings[sample][clustered == k].mean(axis=0) for k in range(clustered.max() + 1)]))
    labels[~sample] = (embeddings[~sample] @ centroids.T).argmax(axis=1)
    return labels


def _cut_all(embeddings: np.ndarray, seconds: np.ndarray, voices: np.ndarray, count: Count) -> np.ndarray:
    """`_cut` on every embedding: the tree's memory is quadratic in their number."""
    from scipy.cluster.hierarchy import fcluster, linkage

    wanted = count.exact
    if len(embeddings) < 2 or wanted == 1:
        return np.zeros(len(embeddings), dtype=int)
    tree = linkage(embeddings, method="average", metric="cosine")
    if wanted is None:
        labels = fcluster(tree, t=SAME_SPEAKER_DISTANCE, criterion="distance") - 1
        labels = _fold_small(embeddings, labels, seconds)
        labels = _join_one_voice(embeddings, labels, voices, seconds)
        found = int(labels.max()) + 1
        if count.least <= found <= count.most:
            return labels
        if found > count.most:
            return fcluster(tree, t=min(count.most, len(embeddings)), criterion="maxclust") - 1
        wanted = count.least
    wanted = _most_held(tree, seconds, wanted)
    return fcluster(tree, t=min(wanted, len(embeddings)), criterion="maxclust") - 1


def _most_held(tree: np.ndarray, seconds: np.ndarray, wanted: int) -> int:
    """The most clusters, up to `wanted`, that the tree splits into while each keeps `_least_speech`."""
    from scipy.cluster.hierarchy import fcluster

    least = _least_speech(seconds)
    for k in range(2, min(wanted, len(seconds)) + 1):
        labels = fcluster(tree, t=k, criterion="maxclust") - 1
        if np.bincount(labels, weights=seconds).min() < least:
            return k - 1
    return wanted


def _fold_small(embeddings: np.ndarray, labels: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Clusters with under `_least_speech` join the nearest large cluster; labels renumbered."""
    speech = np.bincount(labels, weights=seconds)
    large = np.flatnonzero(speech >= _least_speech(seconds))
    if large.size == 0:
        return np.zeros_like(labels)
    centroids = _normed(np.stack([embeddings[labels == k].mean(axis=0) for k in large]))
    small = ~np.isin(labels, large)
    labels = labels.copy()
    labels[small] = large[(embeddings[small] @ centroids.T).argmax(axis=1)]
    return np.searchsorted(np.unique(labels), labels)


def _join_one_voice(embeddings: np.ndarray, labels: np.ndarray, voices: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Join a small cluster to another that the segmentation hears as the same voice; labels renumbered.

    Two clusters are one voice to the segmentation when, in some window, one local speaker has parts in
    both and, in no window, they are two different local speakers. A real person's turns can sound less
    alike to CAM++ than two synthetic voices do (the real call: one person's two turns 0.75), so they are
    joined when the smaller has under `JOIN_SECONDS` of clean speech and the two are at least
    `JOIN_SIMILARITY` alike; the most alike pair first, one pair at a time.
    """
    while labels.max() > 0:
        count = int(labels.max()) + 1
        present = np.zeros((count, int(voices[:, 0].max()) + 1, int(voices[:, 1].max()) + 1), dtype=bool)
        present[labels, voices[:, 0], voices[:, 1]] = True
        heard = np.asarray(present.any(axis=2))  # (clusters, windows)
        shared = np.asarray((present[:, None] & present[None, :]).any(axis=3))  # one local speaker in both
        one = shared.any(axis=2)
        apart = (heard[:, None, :] & heard[None, :, :] & ~shared).any(axis=2)
        speech = np.bincount(labels, weights=seconds)
        centroids = _normed(np.stack([embeddings[labels == k].mean(axis=0) for k in range(count)]))
        similarity = centroids @ centroids.T
        small = np.minimum(speech[:, None], speech[None, :]) < JOIN_SECONDS
        allowed = one & ~apart & small & (similarity >= JOIN_SIMILARITY) & ~np.eye(count, dtype=bool)
        if not allowed.any():
            break
        first, second = np.unravel_index(np.where(allowed, similarity, -np.inf).argmax(), allowed.shape)
        joined = np.where(labels == second, first, labels)
        labels = np.searchsorted(np.unique(joined), joined)
    return labels


def link(
    embeddings: np.ndarray, clean: np.ndarray, active: np.ndarray, windows: np.ndarray, count: Count
) -> tuple[np.ndarray, np.ndarray]:
    """Speaker (-1 for none) of each (window, local speaker), and the speakers' L2-normed centroids.

    `embeddings` (W, K, D) L2-normed; `clean` (W, K) seconds of each local speaker's own speech in its
    window; `active` (W, K) whether it speaks at all there; `windows` (W,) the segmentation window each
    row is a part of (its local speakers are the same voices in all its parts).
    """
    from scipy.optimize import linear_sum_assignment

    chosen = clean >= MIN_CLEAN_SECONDS
    if not chosen.any():  # nobody speaks long alone: take whoever speaks most
        chosen = active & (clean >= clean[active].max(initial=0.0))
    if not chosen.any():
        return np.full(active.shape, -1), np.zeros((0, embeddings.shape[-1]))
    part, speaker = np.nonzero(chosen)
    voices = np.stack([windows[part], speaker], axis=1)
    labels = _cut(embeddings[chosen], clean[chosen], voices, count)
    centroids = _normed(np.stack([embeddings[chosen][labels == k].mean(axis=0) for k in range(labels.max() + 1)]))
    speakers = np.full(active.shape, -1)
    for window in np.flatnonzero(active.any(axis=1)):
        local = np.flatnonzero(active[window])
        similarity = embeddings[window, local] @ centroids.T
        rows, columns = linear_sum_assignment(-similarity)
        speakers[window, local[rows]] = columns
        unmatched = np.setdiff1d(np.arange(local.size), rows)  # more local speakers than centroids
        speakers[window, local[unmatched]] = similarity[unmatched].argmax(axis=1)
    return speakers, centroids
