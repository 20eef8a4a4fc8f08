"""Clustered tasks: the project's unlabeled items grouped in embedding space, each group cut into pages of
the project's grid size, so that a labeler sees similar images together. k-means on the normalized
embeddings (mini-batch k-means past 20,000 items) into groups of about `GROUP_PAGES` pages; within a group
items are ordered along their first principal direction, so that each page holds close neighbours. Every
page gets its own cluster id, which the queue's clustered strategy hands out whole.

Page numbers are also the order in which pages are best labeled before a model can order them: the
first page of every group, groups taken far from each other first (farthest-first over their
centroids), then the second page of every group, and so on. A labeler's first hundred labels then span
the embedding space instead of a few neighbourhoods, which is what the first model needs."""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.ml.heads import normalize

GROUP_PAGES = 8  # pages per k-means group
MINI_BATCH_FROM = 20_000


def kmeans_groups(vectors: np.ndarray[Any, Any], groups: int, seed: int = 0) -> np.ndarray[Any, Any]:
    """A k-means group number per row."""
    groups = max(1, min(groups, len(vectors)))
    if groups == 1:
        return np.zeros(len(vectors), dtype=np.int64)
    from sklearn.cluster import KMeans, MiniBatchKMeans

    model: Any = (
        MiniBatchKMeans(groups, random_state=seed, n_init=3, batch_size=4096)
        if len(vectors) >= MINI_BATCH_FROM
        else KMeans(groups, random_state=seed, n_init=3)
    )
    return np.asarray(model.fit_predict(vectors), dtype=np.int64)


def page_clusters(vectors: np.ndarray[Any, Any], page_size: int, seed: int = 0) -> np.ndarray[Any, Any]:
    """A page number (the cluster id) per row: rows sharing one are similar, at most `page_size` each."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=np.int64)
    x = normalize(vectors)
    groups = kmeans_groups(x, int(np.ceil(len(x) / (page_size * GROUP_PAGES))), seed)
    found = np.unique(groups)
    centroids = np.stack([x[groups == group].mean(axis=0) for group in found])
    cuts: list[tuple[int, int, np.ndarray[Any, Any]]] = []  # (turn, group's place, members)
    for place, index in enumerate(farthest_first(centroids)):
        members = np.flatnonzero(groups == found[index])
        if len(members) > page_size:
            centred = x[members] - x[members].mean(axis=0)
            direction = np.linalg.svd(centred, full_matrices=False)[2][0]
            members = members[np.argsort(centred @ direction, kind="stable")]
        for turn, start in enumerate(range(0, len(members), page_size)):
            cuts.append((turn, place, members[start : start + page_size]))
    pages = np.zeros(len(x), dtype=np.int64)
    for page, (_, _, members) in enumerate(sorted(cuts, key=lambda cut: cut[:2])):
        pages[members] = page
    return pages


def farthest_first(points: np.ndarray[Any, Any]) -> list[int]:
    """Row indices in farthest-first order: from the point nearest the mean, each next one the farthest
    from all taken so far."""
    if len(points) == 0:
        return []
    taken = [int(np.argmin(np.linalg.norm(points - points.mean(axis=0), axis=1)))]
    distance = np.linalg.norm(points - points[taken[0]], axis=1)
    distance[taken[0]] = -1.0
    for _ in range(len(points) - 1):
        following = int(np.argmax(distance))  # a taken point's distance is -1: never taken twice
        taken.append(following)
        distance = np.minimum(distance, np.linalg.norm(points - points[following], axis=1))
        distance[taken] = -1.0
    return taken


def diverse_order(uncertainty: np.ndarray[Any, Any], groups: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Active learning's order: the most uncertain item of every group first (groups taken by their most
    uncertain item), then the second of each, and so on — uncertainty mixed with coverage of the embedding
    space, so a batch of labels is not spent on one confusing corner."""
    order = np.lexsort((-uncertainty, groups))  # by group, most uncertain first within it
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(sorted_groups[1:] != sorted_groups[:-1]) + 1]
    within = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    turn = np.empty(len(order), dtype=np.int64)
    turn[order] = within
    return np.asarray(np.lexsort((-uncertainty, turn)))


def uncertainty_of(probabilities: np.ndarray[Any, Any], *, multilabel: bool) -> np.ndarray[Any, Any]:
    """1 − margin: multi-class, one minus the gap between the two likeliest classes; multi-label, one minus
    the smallest distance of a class's probability from 0.5, doubled."""
    if multilabel:
        return np.asarray(1.0 - np.abs(2.0 * probabilities - 1.0).min(axis=1))
    if probabilities.shape[1] < 2:
        return np.zeros(len(probabilities))
    top_two = np.sort(probabilities, axis=1)[:, -2:]
    return np.asarray(1.0 - (top_two[:, 1] - top_two[:, 0]))
