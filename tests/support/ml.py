"""What ML assist tests share: texts of three topics with known answers, and running the ML jobs the
scheduler finds due until none is left (the trainings queue their inference)."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select

from tessera.db.session import Database
from tessera.jobs.models import Job, JobStatus
from tessera.ml.triggers import start_due_ml_jobs
from tests.support.polling import wait_for

TOPICS = {
    "sport": [
        "match",
        "goal",
        "team",
        "league",
        "striker",
        "coach",
        "season",
        "football",
        "player",
        "scored",
        "win",
        "stadium",
        "referee",
    ],
    "money": [
        "market",
        "shares",
        "bank",
        "profit",
        "investors",
        "stock",
        "inflation",
        "prices",
        "economy",
        "interest",
        "trade",
        "earnings",
    ],
    "food": [
        "recipe",
        "oven",
        "flour",
        "sugar",
        "butter",
        "bake",
        "dinner",
        "garlic",
        "sauce",
        "cook",
        "flavour",
        "kitchen",
        "onion",
    ],
}


def topic_texts(count: int, seed: int = 3) -> list[tuple[str, str]]:
    """(topic, text) pairs: eight words of the topic's vocabulary each, topics in turn."""
    generator = random.Random(seed)
    names = sorted(TOPICS)
    return [
        (names[i % 3], "The " + " ".join(generator.choice(TOPICS[names[i % 3]]) for _ in range(8)) + ".")
        for i in range(count)
    ]


def ml_jobs(db: Database, project_id: int) -> list[Job]:
    with db.read() as session:
        jobs = session.scalars(
            select(Job).where(Job.project_id == project_id, Job.kind.like("ml.%")).order_by(Job.id)
        ).all()
        for job in jobs:
            session.expunge(job)
    return list(jobs)


def settle_ml(db: Database, project_id: int, *, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Start what is due and wait for every ML job of the project to finish, again until nothing is
    due; each finished job as (kind, status, result, error)."""
    for _ in range(10):
        with db.write() as session:
            started = start_due_ml_jobs(session)
        wait_for(
            lambda: ml_jobs(db, project_id),
            lambda jobs: all(job.status in (JobStatus.succeeded, JobStatus.failed) for job in jobs),
            timeout=timeout,
            what="the ML jobs",
        )
        if not started:
            break
    return [
        {"kind": job.kind, "status": job.status.value, "result": job.result, "error": job.error}
        for job in ml_jobs(db, project_id)
    ]
