"""One way to compile a user's regular expression: every way it can be unusable is a ValueError.

`re.compile` raises `re.error` for bad syntax, but `OverflowError` for a repeat count such as
a{99999999999} and `RecursionError` for absurd nesting; callers that caught only `re.error`
let those escape into validation code and the engine.
"""
from __future__ import annotations

import re

# A repeated group with a repeat inside: (a+)+, (a*)*, (\w+\s?)*, (ab+)+ ... Such patterns can take
# exponential time on a near-miss (27 characters: 4 s), and Python cannot interrupt a match: one
# of them would stall the engine for every automation, so they are refused up front.
_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*?(?:[+*]|\{\d*,\d*\})(?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,\d*\})")


def compile_regex(pattern: object, what: str = "pattern", flags: int = 0) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise ValueError(f"the {what} must be text, not {type(pattern).__name__}")
    if _NESTED_REPEAT.search(pattern):
        raise ValueError(f"the {what} {pattern!r} repeats a group that already repeats, e.g. (a+)+, which can "
                         "take exponential time; write it without the outer repeat")
    try:
        return re.compile(pattern, flags)
    except (re.error, OverflowError, RecursionError) as exc:
        said = "is not valid" if "regular expression" in what or "regex" in what else "is not a valid regular expression"
        raise ValueError(f"the {what} {pattern!r} {said}: {exc}") from None
