"""User regular expressions: every unusable one is a ValueError with a reason, before it is stored."""
from __future__ import annotations

import pytest

from desktop.engine.regex import compile_regex


@pytest.mark.parametrize("pattern, reason", [
    ("(prod", "missing \\)"),
    ("a{99999999999}", "repetition number is too large"),  # OverflowError from re, not re.error
    ("^(a+)+$", "repeats a group that already repeats"),  # 27 a's and a '!' took 4 s in the engine
    (r"(\w+\s?)*$", "repeats a group that already repeats"),
    ("(a{1,3}){2,}", "repeats a group that already repeats"),
    ("(a|a)*$", "alternatives may start alike"),  # 26 a's and a '!': 10 s on the UI thread
    ("(?:x|xy)+", "alternatives may start alike"),
    ("(.|_)*", "alternatives may start alike"),
    ("(loss|)+", "alternatives may start alike"),
    ("[[:alpha:]", "Possible nested set"),  # a FutureWarning from re, printed on stderr before
    (None, "must be text"),
])
def test_unusable_patterns_say_why(pattern, reason):
    with pytest.raises(ValueError, match=reason):
        compile_regex(pattern, "run-name pattern")


@pytest.mark.parametrize("pattern", ["^exp-", "(foo|bar)+", r"\(a+\)+", r"(a\+b)+", "(v[0-9]+)?", "^(train|val)/.*loss$",
                                     "(?:train|val)+", r"(a\|a)*", "(t|T)+"])
def test_ordinary_patterns_compile(pattern):
    assert compile_regex(pattern).pattern == pattern
