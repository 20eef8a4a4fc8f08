"""Which labels the threshold is calibrated on: the hand labels, never a label decided on a pre-filled one
(counting confirmed prelabels let the realized precision fall further below the target in the ml-sim
benchmark)."""

from __future__ import annotations

from datetime import timedelta

from tessera.core import clock
from tessera.db.session import Database
from tessera.labels.models import Prelabel, PrelabelSource
from tessera.ml.training import read_offered
from tessera.projects.models import Project
from tessera.review.models import ItemLabel, LabelSource
from tests.support.labeling import make_team


def _label(db: Database, project_id: int, item_id: int, *, at_minutes: int, outcome: str | None) -> None:
    with db.write() as session:
        session.add(
            ItemLabel(
                item_id=item_id, project_id=project_id, payload={"classes": [1]}, source=LabelSource.single,
                prelabel_outcome=outcome, decided_at=clock.now() + timedelta(minutes=at_minutes),
            )
        )  # fmt: skip


def test_the_calibration_set_is_the_hand_labels(db: Database) -> None:
    team = make_team(db, items=6, labelers=1)
    early, confirmed, later, corrected = team.item_ids[:4]
    _label(db, team.project_id, early, at_minutes=-30, outcome=None)
    _label(db, team.project_id, confirmed, at_minutes=-5, outcome="accepted")
    with db.read() as session:
        project = session.get_one(Project, team.project_id)
        session.expunge(project)
    assert read_offered(db, project) == {confirmed}

    with db.write() as session:  # a model pre-labels, ten minutes ago
        session.add(
            Prelabel(
                item_id=team.item_ids[5], project_id=team.project_id, payload={"classes": [1]},
                source=PrelabelSource.model, confidence=0.99, model_version=1,
                created_at=clock.now() - timedelta(minutes=10),
            )
        )  # fmt: skip
    _label(db, team.project_id, later, at_minutes=0, outcome=None)
    _label(db, team.project_id, corrected, at_minutes=0, outcome="corrected")
    assert read_offered(db, project) == {confirmed, corrected}  # hand labels count, early or late
