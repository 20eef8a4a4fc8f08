"""The heads over embeddings on synthetic vectors whose answers are known: multi-class with imbalanced
classes, two of three classes seen, multi-label with empty sets and constant classes, out-of-fold
probabilities, saving and loading; and the clustering helpers (uncertainty, the diverse order, pages of
similar vectors)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from tessera.ml.clustering import diverse_order, farthest_first, kmeans_groups, page_clusters, uncertainty_of
from tessera.ml.heads import (
    REGULARIZATIONS,
    Head,
    normalize,
    out_of_fold,
    predictions,
    train_head,
)

DIMENSIONS = 24


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread() -> Iterator[None]:
    """BLAS threads spinning beside another test process on two cores cost more than they bring."""
    with threadpool_limits(limits=1):
        yield


def _blobs(
    sizes: list[int], seed: int = 0, spread: float = 0.15, dimensions: int = DIMENSIONS, noise_seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows around one random centre per blob (all well apart): (vectors, blob per row, centres)."""
    centres = np.random.default_rng(seed).normal(size=(len(sizes), dimensions))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    blob = np.repeat(np.arange(len(sizes)), sizes)
    noise = np.random.default_rng([seed, noise_seed]).normal(size=(len(blob), dimensions))
    vectors = centres[blob] + noise * spread / np.sqrt(dimensions)
    return vectors.astype(np.float32) * 3.0, blob, centres  # scaled: the heads normalize


def test_a_multiclass_head_learns_imbalanced_classes() -> None:
    vectors, blob, centres = _blobs([40, 10, 5])
    classes = [101, 202, 303]  # class ids; labels are their columns
    head = train_head(vectors, blob, classes, multilabel=False)
    predicted, confidence = predictions(head.probabilities(vectors), multilabel=False)
    assert (predicted == blob).all()  # the 5 of the rarest class too
    fresh, fresh_blob, _ = _blobs([6, 6, 6], seed=0, noise_seed=1)  # the same centres, new noise
    assert (predictions(head.probabilities(fresh), multilabel=False)[0] == fresh_blob).all()
    probabilities = head.probabilities(centres)
    assert probabilities.shape == (3, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities.argmax(axis=1) == [0, 1, 2]).all()
    assert ((confidence > 1 / 3) & (confidence <= 1.0)).all()


def test_out_of_fold_probabilities_come_from_heads_that_did_not_see_the_item() -> None:
    vectors, blob, _ = _blobs([40, 10, 5], seed=1)
    probabilities, strength, _ = out_of_fold(vectors, blob, [1, 2, 3], multilabel=False)
    assert strength in REGULARIZATIONS
    assert probabilities.shape == (55, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities.argmax(axis=1) == blob).mean() >= 0.95
    # A wrongly labeled item: a head that saw it would be taught it; out of fold, it is found out.
    wrong = blob.copy()
    wrong[0] = 1  # a class-0 vector labeled as class 1
    held_out, _, _ = out_of_fold(vectors, wrong, [1, 2, 3], multilabel=False)
    assert held_out[0].argmax() == 0


def test_a_class_never_seen_is_never_predicted() -> None:
    vectors, blob, _ = _blobs([20, 20, 20], seed=2)
    head = train_head(vectors, blob, [1, 2, 3, 4], multilabel=False)  # class 4: no label yet
    anywhere = np.random.default_rng(3).normal(size=(200, DIMENSIONS)).astype(np.float32)
    for probabilities in (head.probabilities(vectors), head.probabilities(anywhere)):
        assert probabilities[:, 3].max() < 1e-6
        assert (probabilities.argmax(axis=1) != 3).all()


def test_a_head_that_saw_two_of_three_classes_tells_them_apart() -> None:
    """scikit-learn keeps one row of weights for two classes; the head must still put them right."""
    vectors, blob, _ = _blobs([15, 15], seed=4)
    columns = np.where(blob == 0, 0, 2)  # the middle class has no label
    head = train_head(vectors, columns, [7, 8, 9], multilabel=False)
    predicted, confidence = predictions(head.probabilities(vectors), multilabel=False)
    assert (predicted == columns).all()
    assert confidence.min() > 0.5
    assert head.probabilities(vectors)[:, 1].max() < 1e-6


def _multilabel_set(seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three classes, each a direction; an item is the sum of its classes' directions (some none)."""
    generator = np.random.default_rng(seed)
    directions = np.eye(DIMENSIONS)[:4]  # the 4th: what items with no class point at
    sets = [(0,), (1,), (2,), (0, 1), (1, 2), (0, 2), ()] * 8
    labels = np.zeros((len(sets), 3), dtype=np.int64)
    vectors = np.zeros((len(sets), DIMENSIONS))
    for row, chosen in enumerate(sets):
        labels[row, list(chosen)] = 1
        vectors[row] = directions[list(chosen)].sum(axis=0) if chosen else directions[3]
    vectors += generator.normal(scale=0.05, size=vectors.shape)
    return vectors.astype(np.float32), labels, directions


def test_a_multilabel_head_predicts_sets_including_the_empty_one() -> None:
    vectors, labels, directions = _multilabel_set()
    head = train_head(vectors, labels, [10, 20, 30], multilabel=True)
    assert head.multilabel
    predicted, confidence = predictions(head.probabilities(vectors), multilabel=True)
    assert (predicted == labels).all()
    assert (confidence > 0.5).all()
    empty = predictions(head.probabilities(directions[3:4].astype(np.float32)), multilabel=True)[0]
    assert empty.tolist() == [[0, 0, 0]]
    oof, strength, _ = out_of_fold(vectors, labels, [10, 20, 30], multilabel=True)
    assert strength in REGULARIZATIONS and oof.shape == labels.shape
    assert (predictions(oof, multilabel=True)[0] == labels).all(axis=1).mean() >= 0.9


def test_multilabel_predictions_of_an_empty_set_and_their_confidence() -> None:
    probabilities = np.array([[0.1, 0.2, 0.3], [0.9, 0.45, 0.02], [0.6, 0.7, 0.99]])
    chosen, confidence = predictions(probabilities, multilabel=True)
    assert chosen.tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 1]]
    assert confidence == pytest.approx([0.7, 0.55, 0.6])  # the least sure of each row's decisions


def test_a_multilabel_class_every_item_has_or_none_has_gets_a_constant_head() -> None:
    vectors, labels, _ = _multilabel_set()
    constant = np.c_[
        labels[:, :2], np.ones(len(labels), dtype=np.int64), np.zeros(len(labels), dtype=np.int64)
    ]
    head = train_head(vectors, constant, [1, 2, 3, 4], multilabel=True)
    probabilities = head.probabilities(np.random.default_rng(0).normal(size=(20, DIMENSIONS)))
    assert (probabilities[:, 2] > 0.999).all() and (probabilities[:, 3] < 0.001).all()
    assert (predictions(head.probabilities(vectors), multilabel=True)[0][:, :2] == labels[:, :2]).all()


@pytest.mark.parametrize("multilabel", [False, True])
def test_a_head_saved_and_loaded_predicts_the_same(tmp_path: Path, multilabel: bool) -> None:
    if multilabel:
        vectors, labels, _ = _multilabel_set()
    else:
        vectors, labels, _ = _blobs([12, 9, 6])
    head = train_head(vectors, labels, [5, 6, 7], multilabel=multilabel)
    path = tmp_path / "models" / "project-1" / "head-v0001.npz"
    head.save(path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["head-v0001.npz"]  # no partial file left
    loaded = Head.load(path)
    assert loaded.classes == [5, 6, 7] and loaded.multilabel is multilabel
    assert np.array_equal(loaded.probabilities(vectors), head.probabilities(vectors))
    head.save(path)  # saving again replaces it
    assert np.array_equal(Head.load(path).weights, head.weights)


@pytest.mark.parametrize("multilabel", [False, True])
def test_the_fold_heads_as_one_answer_the_mean_of_their_probabilities_saved_and_loaded(
    tmp_path: Path, multilabel: bool
) -> None:
    vectors, labels, _ = _multilabel_set() if multilabel else _blobs([12, 9, 6])
    _, _, folds = out_of_fold(vectors, labels, [5, 6, 7], multilabel=multilabel)
    assert len(folds) >= 2 and all(fold.weights.shape == folds[0].weights.shape for fold in folds)
    ensemble = Head.ensemble(folds)
    mean = np.mean([fold.probabilities(vectors) for fold in folds], axis=0)
    assert np.allclose(ensemble.probabilities(vectors), mean)
    if not multilabel:
        assert np.allclose(ensemble.probabilities(vectors).sum(axis=1), 1.0)
    path = tmp_path / "head-v0001.npz"
    ensemble.save(path)
    assert np.array_equal(Head.load(path).probabilities(vectors), ensemble.probabilities(vectors))


def test_uncertainty_is_one_minus_the_margin() -> None:
    multiclass = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.6, 0.3, 0.1], [0.2, 0.3, 0.5]])
    assert uncertainty_of(multiclass, multilabel=False) == pytest.approx([1.0, 0.0, 0.7, 0.8])
    multilabel = np.array([[0.5, 0.99], [0.9, 0.1], [0.95, 0.7]])
    assert uncertainty_of(multilabel, multilabel=True) == pytest.approx([1.0, 0.2, 0.6])
    assert uncertainty_of(np.ones((3, 1)), multilabel=False).tolist() == [0.0, 0.0, 0.0]


def test_the_diverse_order_takes_each_groups_most_uncertain_item_first() -> None:
    generator = np.random.default_rng(11)
    groups = generator.integers(0, 6, 300)
    uncertainty = generator.uniform(0, 1, 300)
    uncertainty[groups == 5] *= 0.01  # a group of sure items still gets its turn in the first round
    order = diverse_order(uncertainty, groups)
    assert sorted(order.tolist()) == list(range(300))
    position = np.empty(300, dtype=np.int64)
    position[order] = np.arange(300)
    rank_in_group = np.empty(300, dtype=np.int64)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        rank_in_group[members[np.argsort(-uncertainty[members])]] = np.arange(len(members))
    for turn in range(int(rank_in_group.max())):  # every item of turn t comes before any of turn t+1
        this, following = position[rank_in_group == turn], position[rank_in_group == turn + 1]
        assert this.max() < following.min(), turn
    first_round = order[: len(np.unique(groups))]
    assert sorted(groups[first_round].tolist()) == list(range(6))
    assert (np.diff(uncertainty[first_round]) <= 0).all()  # the round itself: most uncertain first


def test_pages_hold_at_most_a_page_of_similar_vectors() -> None:
    """Five well-apart blobs of 40: seven k-means groups, so each group lies inside one blob and so
    does every page."""
    vectors, blob, _ = _blobs([40] * 5, seed=8, spread=0.3, dimensions=64)
    pages = page_clusters(vectors, page_size=4)
    assert pages.shape == (200,)
    sizes = np.bincount(pages)
    assert sizes.max() <= 4 and sizes.min() >= 1
    assert len(sizes) >= 50  # 200 items on pages of at most 4
    for page in np.unique(pages):
        assert len(set(blob[pages == page].tolist())) == 1, page


def test_the_first_pages_span_the_blobs_before_any_blob_gets_a_second() -> None:
    """Five blobs, seven k-means groups: page numbers take the first page of groups far apart first, so
    pages 0–4 come from five different blobs; every group's first page comes before any second page."""
    vectors, blob, _ = _blobs([40] * 5, seed=8, spread=0.3, dimensions=64)
    pages = page_clusters(vectors, page_size=4)
    first_blobs = [int(blob[pages == page][0]) for page in range(5)]
    assert sorted(first_blobs) == [0, 1, 2, 3, 4]
    groups = kmeans_groups(normalize(vectors), 7)
    group_of_page = [int(groups[pages == page][0]) for page in range(int(pages.max()) + 1)]
    assert len(set(group_of_page[:7])) == 7  # a first page of each of the seven groups


def test_farthest_first_takes_every_point_once_even_when_some_coincide() -> None:
    points = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.1, 0.0], [5.0, 5.0]])
    order = farthest_first(points)
    assert sorted(order) == [0, 1, 2, 3, 4]
    assert order[1] == 4  # the farthest from the first point, which lies nearest the mean
    assert farthest_first(np.zeros((0, 2))) == []


def test_a_single_group_is_cut_along_its_main_direction() -> None:
    """Three blobs of 8 along an arc, fewer than one k-means group: ordered along the arc, pages of 4
    fall inside blobs."""
    angles = np.repeat([0.0, 0.5, 1.0], 8) + np.random.default_rng(9).normal(scale=0.02, size=24)
    vectors = np.c_[np.cos(angles), np.sin(angles), np.zeros((24, 6))].astype(np.float32)
    pages = page_clusters(vectors, page_size=4)
    assert np.bincount(pages).tolist() == [4] * 6
    blob = np.repeat([0, 1, 2], 8)
    for page in range(6):
        assert len(set(blob[pages == page].tolist())) == 1
    assert page_clusters(np.zeros((0, 8)), page_size=4).shape == (0,)


def test_a_class_labeled_once_does_not_break_the_out_of_fold_predictions() -> None:
    vectors, blob, _ = _blobs([2, 2, 1], seed=12)  # trainable: two classes have two labels each
    for seed in range(10):
        probabilities, _, _ = out_of_fold(vectors, blob, [1, 2, 3], multilabel=False, seed=seed)
        assert probabilities.shape == (5, 3)
