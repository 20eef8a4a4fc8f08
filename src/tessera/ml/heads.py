"""The heads trained on a project's labels over frozen backbone embeddings: softmax logistic regression for
one class per item, one-vs-rest logistic regression for several; classes weighted by inverse frequency so
a rare class is not drowned. Out-of-fold predictions (stratified k-fold) give held-out probabilities of
every labeled item, for the threshold and for finding label errors."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tessera.core.files import replaced_atomically

FOLDS = 5
REGULARIZATIONS = (1.0, 10.0, 100.0)  # scikit-learn's C on L2-normalized embeddings: the grid tried


def normalize(vectors: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


@dataclass
class Head:
    """A linear head: probabilities = softmax (multi-class) or sigmoid (multi-label) of X·Wᵀ + b over the
    normalized embedding; `classes` are the project's class ids in column order. An ensemble of K such
    heads (weights K×C×D, bias K×C) answers the mean of their probabilities."""

    classes: list[int]
    weights: np.ndarray[Any, Any]
    bias: np.ndarray[Any, Any]
    multilabel: bool

    @classmethod
    def ensemble(cls, heads: list[Head]) -> Head:
        """The heads (of the same classes) as one, answering the mean of their probabilities."""
        return cls(
            heads[0].classes,
            np.stack([head.weights for head in heads]),
            np.stack([head.bias for head in heads]),
            heads[0].multilabel,
        )

    def probabilities(self, vectors: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        x = normalize(vectors)
        stacked = self.weights.reshape(-1, *self.weights.shape[-2:])  # one head: a stack of one
        biases = self.bias.reshape(-1, self.bias.shape[-1])
        total = sum(
            self._probabilities(x @ weights.T + bias) for weights, bias in zip(stacked, biases, strict=True)
        )
        return np.asarray(total / len(stacked))

    def _probabilities(self, scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        if self.multilabel:
            from scipy.special import expit

            return np.asarray(expit(scores))
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def save(self, path: Path) -> None:
        with replaced_atomically(path) as file:
            np.savez(
                file,
                classes=np.array(self.classes),
                weights=self.weights,
                bias=self.bias,
                multilabel=np.array(self.multilabel),
            )

    @classmethod
    def load(cls, path: Path) -> Head:
        with np.load(path) as data:
            return cls(
                classes=[int(c) for c in data["classes"]],
                weights=data["weights"],
                bias=data["bias"],
                multilabel=bool(data["multilabel"]),
            )


def _fit_one(vectors: np.ndarray[Any, Any], targets: np.ndarray[Any, Any], seed: int, strength: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=strength, class_weight="balanced", max_iter=1000, random_state=seed)
    return model.fit(vectors, targets)


def train_head(
    vectors: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any],
    classes: list[int],
    *,
    multilabel: bool,
    seed: int = 0,
    strength: float = 1.0,
) -> Head:
    """Fit on all labeled items (`strength`: scikit-learn's C, the inverse of the L2 penalty).
    Multi-class `labels` are column indices (N); multi-label ones a 0/1 matrix (N×C).
    A multi-label class every item has, or none has, gets a constant head."""
    x = normalize(vectors)
    if not multilabel:
        model = _fit_one(x, labels, seed, strength)
        weights = np.zeros((len(classes), x.shape[1]), dtype=np.float32)
        bias = np.full(len(classes), -1e4, dtype=np.float32)  # a class never seen is never predicted
        seen = [int(c) for c in model.classes_]
        if len(seen) == 2:  # scikit-learn keeps one row for two classes: the second's score against the first
            weights[seen[1]], bias[seen[1]] = model.coef_[0], model.intercept_[0]
            weights[seen[0]], bias[seen[0]] = 0.0, 0.0
        else:
            weights[seen], bias[seen] = model.coef_, model.intercept_
        return Head(classes, weights, bias, multilabel=False)
    weights = np.zeros((len(classes), x.shape[1]), dtype=np.float32)
    bias = np.zeros(len(classes), dtype=np.float32)
    for column in range(len(classes)):
        targets = labels[:, column]
        positives = int(targets.sum())
        if positives in (0, len(targets)):
            bias[column] = 1e4 if positives else -1e4
            continue
        model = _fit_one(x, targets, seed, strength)
        weights[column], bias[column] = model.coef_[0], model.intercept_[0]
    return Head(classes, weights, bias, multilabel=True)


def out_of_fold(
    vectors: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any],
    classes: list[int],
    *,
    multilabel: bool,
    seed: int = 0,
) -> tuple[np.ndarray[Any, Any], float, list[Head]]:
    """Each labeled item's probabilities from a head that did not see it (stratified folds by the item's
    class, or its first class for multi-label; as many folds as the rarest class allows, 2 to 5), with
    the regularization of `REGULARIZATIONS` whose held-out log loss is lowest: (probabilities, its C,
    the fold heads that gave them)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    strata = labels if not multilabel else np.argmax(labels, axis=1)
    counts = np.bincount(strata)
    learnable = [int(count) for count in counts if count >= 2]
    folds = max(2, min(FOLDS, min(learnable, default=2)))
    # Stratified even when a class has a single label (scikit-learn warns and puts it in one fold): every
    # training fold then keeps at least two classes, which plain k-fold did not promise.
    splitter: Any = StratifiedKFold(folds, shuffle=True, random_state=seed) if learnable else KFold(folds)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(splitter.split(vectors, strata))
    best: tuple[float, np.ndarray[Any, Any], float, list[Head]] | None = None
    for strength in REGULARIZATIONS:
        result = np.zeros((len(vectors), len(classes)), dtype=np.float64)
        heads = []
        for train, test in splits:
            head = train_head(
                vectors[train], labels[train], classes, multilabel=multilabel, seed=seed, strength=strength
            )
            result[test] = head.probabilities(vectors[test])
            heads.append(head)
        loss = log_loss(result, labels, multilabel=multilabel)
        if best is None or loss < best[0]:
            best = (loss, result, strength, heads)
    assert best is not None
    return best[1], best[2], best[3]


def log_loss(probabilities: np.ndarray[Any, Any], labels: np.ndarray[Any, Any], *, multilabel: bool) -> float:
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    if multilabel:
        return float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped)))
    return float(-np.mean(np.log(clipped[np.arange(len(labels)), labels])))


def predictions(
    probabilities: np.ndarray[Any, Any], *, multilabel: bool
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(predicted, confidence) per row. Multi-class: the likeliest column and its probability. Multi-label:
    the 0/1 row of columns ≥ 0.5, and the confidence that the whole set is right — the least sure of its
    per-class decisions, min over classes of max(p, 1 − p)."""
    if not multilabel:
        return probabilities.argmax(axis=1), probabilities.max(axis=1)
    chosen = (probabilities >= 0.5).astype(np.int8)
    return chosen, np.maximum(probabilities, 1.0 - probabilities).min(axis=1)
