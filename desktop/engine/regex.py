"""One way to compile a user's regular expression: every way it can be unusable is a ValueError.

`re.compile` raises `re.error` for bad syntax, but `OverflowError` for a repeat count such as
a{99999999999} and `RecursionError` for absurd nesting; callers that caught only `re.error`
let those escape into validation code and the engine.
"""
from __future__ import annotations

import re
import warnings

# A repeated group with a repeat inside: (a+)+, (a*)*, (\w+\s?)*, (ab+)+ ... Such patterns can take
# exponential time on a near-miss (27 characters: 4 s), and Python cannot interrupt a match: one
# of them would stall the engine for every automation, so they are refused up front.
_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*?(?:[+*]|\{\d*,\d*\})(?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,\d*\})")
# A repeated group of alternatives that may start alike, (a|a)*, (a|ab)+, (.|x)*: a near-miss
# tries every way of splitting the text between them (26 characters: 10 s on the UI thread).
# (foo|bar)+ is fine: its alternatives cannot start on the same character.
_REPEATED_CHOICE = re.compile(r"\(((?:[^()\\]|\\.)*\|(?:[^()\\]|\\.)*)\)(?:[+*]|\{\d*,\d*\})")


def _alternatives_may_start_alike(body: str) -> bool:
    body = re.sub(r"^\?(?:[:=!>]|P<\w+>|<\w+>)", "", body)  # (?:...), (?P<name>...) and kin
    firsts = [alt[:1] for alt in _split_alternatives(body)]
    return any(first in ("", ".", "[", "\\") for first in firsts) or len(set(firsts)) < len(firsts)


def _split_alternatives(body: str) -> list[str]:
    """body split at its top-level '|' (not escaped, not inside [...])."""
    parts, current, i, in_class = [], "", 0, False
    while i < len(body):
        char = body[i]
        if char == "\\":
            current += body[i:i + 2]
            i += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "|" and not in_class:
            parts.append(current)
            current = ""
            i += 1
            continue
        current += char
        i += 1
    return [*parts, current]


def compile_regex(pattern: object, what: str = "pattern", flags: int = 0) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise ValueError(f"the {what} must be text, not {type(pattern).__name__}")
    if _NESTED_REPEAT.search(pattern):
        raise ValueError(f"the {what} {pattern!r} repeats a group that already repeats, e.g. (a+)+, which can "
                         "take exponential time; write it without the outer repeat")
    if any(_alternatives_may_start_alike(m.group(1)) for m in _REPEATED_CHOICE.finditer(pattern)):
        raise ValueError(f"the {what} {pattern!r} repeats a group whose alternatives may start alike, e.g. "
                         "(a|ab)*, which can take exponential time; use a character class such as [ab]* "
                         "or repeat each alternative on its own")
    try:
        with warnings.catch_warnings():
            # "possible nested set" and kin: the pattern will mean something else in a later Python
            warnings.simplefilter("error")
            return re.compile(pattern, flags)
    except (re.error, OverflowError, RecursionError, FutureWarning, DeprecationWarning) as exc:
        said = "is not valid" if "regular expression" in what or "regex" in what else "is not a valid regular expression"
        raise ValueError(f"the {what} {pattern!r} {said}: {exc}") from None
