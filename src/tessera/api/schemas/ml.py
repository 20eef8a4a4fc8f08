"""ML assist's request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MlSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(None, description="ML assist on or off for the project.")
    target_precision: float | None = Field(
        None, description="Precision the prelabels must reach, as a 95% lower confidence bound (0.5–0.999)."
    )
    first_training_labels: int | None = Field(None, description="Labels before the first training.")
    min_labels_per_class: int | None = Field(
        None, description="Labels each of at least two classes needs before the first training."
    )
    retrain_every: int | None = Field(None, description="New labels between automatic trainings.")
    active_learning: bool | None = Field(
        None, description="Order the manual queue by uncertainty and diversity."
    )
    clustering: bool | None = Field(None, description="Serve pages of similar images (image classification).")


class ModelOut(BaseModel):
    version: int
    status: str
    backbone: str
    trained_on: int = Field(description="Labeled items it learned from.")
    target_precision: float
    threshold: float | None = Field(
        description="Prelabels at or above this confidence; null: none this round."
    )
    message: str = Field(description="The threshold and its evidence, or why there are no prelabels.")
    labels_needed: int | None = Field(description="About how many more labels a threshold likely needs.")
    metrics: dict[str, Any]
    prelabeled: int
    job_id: int | None
    created_at: datetime
    finished_at: datetime | None
    curve: list[dict[str, Any]] | None = Field(
        None,
        description="Held-out precision against threshold: threshold, kept, correct, precision, lower_bound.",
    )


class MlStatusOut(BaseModel):
    supported: bool
    settings: dict[str, Any]
    featurized_items: int
    labeled: int
    trained_at_labels: int | None
    next_training_in: int | None = Field(
        description="Labels until the next automatic training; null when off, or when the first training "
        "waits for labels in a second class rather than for more labels."
    )
    summary: str = Field(description="What ML assist is doing, or why it is not pre-labeling.")
    latest_model: ModelOut | None
    active_job: dict[str, Any] | None
    last_failure: dict[str, Any] | None = Field(
        None, description="The last ML job, when it failed: its id, kind and error (a missing package, say)."
    )
    prelabels_waiting: int
    possible_label_errors: int
    realized_precision: dict[str, Any] = Field(
        description="Model prelabels the labelers accepted against corrected, and the precision that makes."
    )


class SimilarItemOut(BaseModel):
    item_id: int
    similarity: float
    path: str
    text: str | None
    state: str


class JobStartedOut(BaseModel):
    job_id: int
    kind: str
