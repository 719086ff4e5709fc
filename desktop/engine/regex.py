"""One way to compile a user's regular expression: every way it can be unusable is a ValueError.

`re.compile` raises `re.error` for bad syntax, but `OverflowError` for a repeat count such as
a{99999999999} and `RecursionError` for absurd nesting; callers that caught only `re.error`
let those escape into validation code and the engine.
"""
from __future__ import annotations

import re


def compile_regex(pattern: object, what: str = "pattern", flags: int = 0) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise ValueError(f"the {what} must be text, not {type(pattern).__name__}")
    try:
        return re.compile(pattern, flags)
    except (re.error, OverflowError, RecursionError) as exc:
        said = "is not valid" if "regular expression" in what or "regex" in what else "is not a valid regular expression"
        raise ValueError(f"the {what} {pattern!r} {said}: {exc}") from None
