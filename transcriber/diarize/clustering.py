"""Clustering speaker embeddings: average-linkage agglomerative on cosine distance, then refinement.

With a known count the dendrogram is cut into that many clusters. In `auto` the count is estimated in two
steps: clusters that merge below `SAME_SPEAKER_DISTANCE` are one speaker (GE2E windows of one voice stay
under about 0.25 apart, different voices merge above 0.3), which settles one speaker against several; of
the cuts above that floor, the one with the best silhouette wins, so two close voices are not merged just
because a third is far from both. Clusters are then refined by reassigning each window to its nearest
centroid, and in `auto` a cluster too small to be a speaker (under `MIN_CLUSTER_WINDOWS`) is folded into
its nearest neighbour. A known count is capped at what the speech can hold: the dendrogram is cut into more
clusters only while each keeps `MIN_CLUSTER_WINDOWS` windows (`--speakers 99` on a call of two gives two).
"""

from __future__ import annotations

import numpy as np

SAME_SPEAKER_DISTANCE = 0.3
MAX_SPEAKERS = 12
MIN_CLUSTER_WINDOWS = 4
_REFINE_ROUNDS = 3


def _centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    means = np.stack([embeddings[labels == k].mean(axis=0) for k in np.unique(labels)])
    return means / np.linalg.norm(means, axis=1, keepdims=True)


def _compact(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1 in order of first appearance."""
    order = {k: n for n, k in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[k] for k in labels.tolist()])


def _fold_small(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Give the windows of clusters smaller than `MIN_CLUSTER_WINDOWS` to the nearest large cluster."""
    sizes = np.bincount(labels)
    large = np.flatnonzero(sizes >= MIN_CLUSTER_WINDOWS)
    if large.size == 0 or large.size == sizes.size:
        return labels
    centroids = _centroids(embeddings, labels)[large]
    small = ~np.isin(labels, large)
    labels = labels.copy()
    labels[small] = large[(embeddings[small] @ centroids.T).argmax(axis=1)]
    return _compact(labels)


def _auto_cut(embeddings: np.ndarray, tree: np.ndarray) -> np.ndarray:
    """The cut with the best silhouette among those whose clusters are all further apart than the floor."""
    from scipy.cluster.hierarchy import fcluster
    from sklearn.metrics import silhouette_score

    most = int(fcluster(tree, t=SAME_SPEAKER_DISTANCE, criterion="distance").max())
    best, best_score = np.zeros(len(embeddings), dtype=int), -1.0
    for k in range(2, min(most, MAX_SPEAKERS, len(embeddings) - 1) + 1):
        labels = fcluster(tree, t=k, criterion="maxclust")
        score = silhouette_score(embeddings, labels, metric="cosine")
        if score > best_score:
            best, best_score = labels, score
    return best


def _most_held(tree: np.ndarray, wanted: int) -> int:
    """The most clusters, up to `wanted`, that the dendrogram splits into while each keeps `MIN_CLUSTER_WINDOWS`."""
    from scipy.cluster.hierarchy import fcluster

    for k in range(2, wanted + 1):
        if np.bincount(fcluster(tree, t=k, criterion="maxclust"))[1:].min() < MIN_CLUSTER_WINDOWS:  # labels from 1
            return k - 1
    return wanted


def cluster(embeddings: np.ndarray, speakers: int | None) -> np.ndarray:
    """A cluster label (0..k-1, in order of first appearance) per L2-normed embedding."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(embeddings) < 2 or speakers == 1:
        return np.zeros(len(embeddings), dtype=int)
    tree = linkage(embeddings, method="average", metric="cosine")
    if speakers:
        labels = fcluster(tree, t=_most_held(tree, min(speakers, len(embeddings))), criterion="maxclust")
    else:
        labels = _auto_cut(embeddings, tree)
    labels = _compact(labels)
    if not speakers:
        labels = _fold_small(embeddings, labels)
    for _ in range(_REFINE_ROUNDS):
        labels = _compact((embeddings @ _centroids(embeddings, labels).T).argmax(axis=1))
    return labels
