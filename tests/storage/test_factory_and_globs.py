"""The factory's refusals, path rules on their own, and the listing plan behind the globs."""

from __future__ import annotations

import pytest

from tessera.core.errors import Invalid
from tessera.storage import KINDS, StorageError, build_datastore
from tessera.storage.globs import Listing, compile_patterns, plan_listings
from tessera.storage.paths import clean_path


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        build_datastore("ftp", {}, {})
    assert caught.value.field == "kind"
    assert set(KINDS) == {"local", "s3", "azure_blob", "gcs"}


def test_secrets_are_never_echoed_in_errors() -> None:
    with pytest.raises(Invalid) as caught:
        build_datastore("s3", {"bucket": "ok-bucket"}, {"access_key_id": "AKIA", "secret_access_key": 12345})
    assert "12345" not in str(caught.value.details)


def test_a_storage_error_carries_reason_and_field() -> None:
    from tessera.storage import StorageProblem

    error = StorageError("no such bucket", reason=StorageProblem.MISSING_CONTAINER, field="config.bucket")
    assert error.code == "storage_unavailable"
    assert error.details == {
        "reason": "missing_container",
        "errors": [{"field": "config.bucket", "message": "no such bucket"}],
    }


@pytest.mark.parametrize(
    "path", ["photos/cat.jpg", "100%.jpg", "a b/c.jpg", "ünïcode/файл.png", "50%2F.jpg", "..hidden", "a..b"]
)
def test_ordinary_names_are_accepted(path: str) -> None:
    assert clean_path(path) == path


def test_overlong_paths_are_refused() -> None:
    with pytest.raises(Invalid, match="longer than 1024 bytes"):
        clean_path("a/" * 600)


@pytest.mark.parametrize(
    ("patterns", "plan"),
    [
        (["**"], [Listing("", None)]),
        (["*.jpg"], [Listing("", 1)]),
        (["photos/**", "*.jpg"], [Listing("", 1), Listing("photos/", None)]),
        (["a/b/*.jpg", "a/*"], [Listing("a/", 1), Listing("a/b/", 1)]),
        (["*/*", "x/*/*/*"], [Listing("", 4)]),
        (["*/*", "a/b/**", "x/*/*/*/*/*"], [Listing("", None)]),
    ],
)
def test_listings_cover_the_patterns_without_overlap(patterns: list[str], plan: list[Listing]) -> None:
    assert plan_listings(patterns) == plan


def test_the_literal_folders_are_exact_and_the_rest_ignores_case() -> None:
    matches = compile_patterns(["Photos/*.jpg"])
    assert matches("Photos/A.JPG")
    assert not matches("photos/a.jpg")
