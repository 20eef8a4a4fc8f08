"""Glob patterns over datastore paths, and the few listings that cover them.

`*` and `?` match within one folder, `[abc]`/`[!abc]` one character of a set, and a `**` segment any number
of folders (`photos/**` is everything under photos, `**/*.jpg` every .jpg at any depth, `*.jpg` only those
at the root). The folders written out before the first wildcard are matched exactly, as the stores list them;
the rest ignores case, so `*.jpg` also matches `IMG_1.JPG`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tessera.storage.paths import clean_pattern, has_glob

UPLOAD_MARKER = ".tessera-upload-"  # temporary names of writes in progress; never listed


@dataclass(frozen=True)
class Listing:
    """List everything under `prefix` ('' or 'a/b/'), `depth` folders deep (None: no limit)."""

    prefix: str
    depth: int | None


def _translate_segment(segment: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(segment):
        character = segment[index]
        if character == "*":
            out.append("[^/]*")
        elif character == "?":
            out.append("[^/]")
        elif character == "[" and "]" in segment[index + 2 :]:
            end = segment.index("]", index + 2)
            body = segment[index + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace(r"\-", "-")
            out.append(f"[{'^/' if negate else ''}{body}]")
            index = end
        else:
            out.append(re.escape(character))
        index += 1
    return "".join(out)


def _translate(pattern: str) -> str:
    fixed = _listing_for(pattern).prefix
    segments = pattern[len(fixed) :].split("/")
    parts = [f"(?-i:{re.escape(fixed)})"]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".+" if last else "(?:[^/]+/)*")
        else:
            parts.append(_translate_segment(segment) + ("" if last else "/"))
    return "".join(parts)


def compile_patterns(patterns: Sequence[str]) -> Callable[[str], bool]:
    """A predicate: does a relative path match any of the patterns?"""
    regex = re.compile("|".join(f"(?:{_translate(pattern)})" for pattern in patterns), re.IGNORECASE)
    return lambda path: regex.fullmatch(path) is not None


def compile_filter(patterns: Sequence[str], suffixes: Sequence[str] = ()) -> Callable[[str], bool] | None:
    """One predicate for a listing: the path matches a pattern and, with `suffixes` (".jpg", …), its
    name has one of them after a dot that does not start the name (any case). None when every path
    passes (the patterns are just `**` and no suffix is asked for): the listing then tests nothing."""
    tests: list[Callable[[str], bool]] = []
    if any(pattern != "**" for pattern in patterns):
        tests.append(compile_patterns(patterns))
    if suffixes:
        endings = "|".join(re.escape(suffix.lstrip(".")) for suffix in sorted(suffixes))
        ending = re.compile(rf"(?:.*/)?[^/]+\.(?:{endings})", re.IGNORECASE | re.DOTALL).fullmatch
        tests.append(lambda path: ending(path) is not None)
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    first, second = tests
    return lambda path: first(path) and second(path)


def _listing_for(pattern: str) -> Listing:
    segments = pattern.split("/")
    fixed: list[str] = []
    for segment in segments[:-1]:
        if has_glob(segment):
            break
        fixed.append(segment)
    rest = segments[len(fixed) :]
    depth = None if "**" in rest else len(rest)
    return Listing("".join(f"{segment}/" for segment in fixed), depth)


def _overlaps(outer: Listing, inner: Listing) -> bool:
    """Would listing `outer` also list some file that listing `inner` lists?"""
    if not inner.prefix.startswith(outer.prefix):
        return False
    return outer.depth is None or outer.depth > inner.prefix[len(outer.prefix) :].count("/")


def _merge(outer: Listing, inner: Listing) -> Listing:
    if outer.depth is None or inner.depth is None:
        return Listing(outer.prefix, None)
    extra = inner.prefix[len(outer.prefix) :].count("/")
    return Listing(outer.prefix, max(outer.depth, extra + inner.depth))


def _merge_one(planned: list[Listing]) -> bool:
    for outer in planned:
        for inner in planned:
            if inner is not outer and _overlaps(outer, inner):
                planned[planned.index(outer)] = _merge(outer, inner)
                planned.remove(inner)
                return True
    return False


def plan_listings(patterns: Sequence[str]) -> list[Listing]:
    """Listings that cover every pattern, merged until no two overlap (so no file is listed twice)."""
    planned = sorted({_listing_for(pattern) for pattern in patterns}, key=lambda item: item.prefix)
    while _merge_one(planned):
        pass
    return planned


def check_patterns(patterns: Sequence[str]) -> list[str]:
    """The patterns, each checked like a path; no pattern means every file (`**`)."""
    if isinstance(patterns, str):
        patterns = [patterns]
    return [clean_pattern(pattern, field=f"patterns.{index}") for index, pattern in enumerate(patterns)] or [
        "**"
    ]
