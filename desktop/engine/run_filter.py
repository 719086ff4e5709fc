"""The run filter of run events: a MongoDB-like JSON expression over run fields (reference §2.3).

`{"$and": []}` matches every run. Fields: `display_name` (alias `name`), `username`
(alias `user`), `tags`, plus `id`, `state` and `group`. Operators: `$and $or $nor $not` on
expressions; `$eq $ne $regex $contains $in $nin $exists` on fields. On the list field
`tags`, `$eq`/`$contains`/`$regex` match when any tag matches, `$in` when any tag is listed
(MongoDB's array semantics).
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from store import entities as e

from desktop.engine.regex import compile_regex

MATCH_ALL = '{"$and": []}'
FIELDS = {"display_name": "display_name", "name": "display_name", "username": "username",
          "user": "username", "tags": "tags", "id": "id", "state": "state", "group": "group"}
_LOGICAL = ("$and", "$or", "$nor")
_FIELD_OPS = ("$eq", "$ne", "$regex", "$contains", "$in", "$nin", "$exists", "$not", "$options")


def run_fields(run: e.Run) -> dict[str, Any]:
    return {"display_name": run.name, "username": run.username, "tags": list(run.tags),
            "id": run.id, "state": run.state, "group": run.group}


def parse(text: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """Parse and validate a run filter; ValueError with a message for the user."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return {"$and": []}
    if isinstance(text, str):
        try:
            expr = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the run filter is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    else:
        expr = dict(text)
    if not isinstance(expr, dict):
        raise ValueError("the run filter must be a JSON object such as {\"$and\": []}")
    _check_expr(expr)
    return expr


def _check_expr(expr: Any) -> None:
    if not isinstance(expr, dict):
        raise ValueError(f"expected an object in the run filter, found {expr!r}")
    for key, value in expr.items():
        if key in _LOGICAL:
            if not isinstance(value, list):
                raise ValueError(f"{key} takes a list of conditions")
            for sub in value:
                _check_expr(sub)
        elif key == "$not":
            _check_expr(value)
        elif key.startswith("$"):
            raise ValueError(f"unknown run filter operator {key}")
        elif key not in FIELDS:
            raise ValueError(f"the run filter cannot test the field {key!r}; use one of "
                             f"{', '.join(sorted(set(FIELDS.values())))}")
        else:
            _check_field_expr(key, value)


def _check_field_expr(field: str, value: Any) -> None:
    if not (isinstance(value, dict) and any(k.startswith("$") for k in value)):
        return  # an implicit $eq
    for op, arg in value.items():
        if op not in _FIELD_OPS:
            raise ValueError(f"unknown operator {op} on {field}")
        if op == "$regex":
            if not isinstance(arg, str):
                raise ValueError(f"the {field} regular expression must be text")
            _compile(arg, str(value.get("$options", "")))  # ValueError when unusable
        elif op in ("$in", "$nin") and not isinstance(arg, list):
            raise ValueError(f"{op} on {field} takes a list")
        elif op == "$not":
            _check_field_expr(field, arg if isinstance(arg, dict) else {"$eq": arg})


@lru_cache(maxsize=512)
def _compile(pattern: str, options: str = "") -> re.Pattern[str]:
    return compile_regex(pattern, "run filter regular expression", re.IGNORECASE if "i" in options else 0)


def matches(expr: str | Mapping[str, Any] | None, run: e.Run | Mapping[str, Any]) -> bool:
    """Whether a run passes the filter (`expr` may be the stored JSON string)."""
    if isinstance(expr, str) or expr is None:
        expr = _parse_cached(expr or MATCH_ALL)
    else:
        expr = parse(expr)
    fields = run_fields(run) if isinstance(run, e.Run) else dict(run)
    return _match(expr, fields)


@lru_cache(maxsize=256)
def _parse_cached(text: str) -> dict[str, Any]:
    return parse(text)


def _match(expr: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    for key, value in expr.items():
        if key == "$and":
            ok = all(_match(sub, fields) for sub in value)
        elif key == "$or":
            ok = any(_match(sub, fields) for sub in value) if value else True
        elif key == "$nor":
            ok = not any(_match(sub, fields) for sub in value)
        elif key == "$not":
            ok = not _match(value, fields)
        else:
            ok = _match_field(fields.get(FIELDS[key]), value)
        if not ok:
            return False
    return True


def _match_field(actual: Any, cond: Any) -> bool:
    if not (isinstance(cond, dict) and any(k.startswith("$") for k in cond)):
        return _eq(actual, cond)
    options = str(cond.get("$options", ""))
    for op, arg in cond.items():
        if op == "$options":
            continue
        if not _apply(op, actual, arg, options):
            return False
    return True


def _apply(op: str, actual: Any, arg: Any, options: str) -> bool:
    if op == "$eq":
        return _eq(actual, arg)
    if op == "$ne":
        return not _eq(actual, arg)
    if op == "$exists":
        return (actual is not None and actual != []) == bool(arg)
    if op == "$in":
        return any(_eq(actual, a) for a in arg)
    if op == "$nin":
        return not any(_eq(actual, a) for a in arg)
    if op == "$not":
        return not _match_field(actual, arg if isinstance(arg, dict) else {"$eq": arg})
    if op == "$regex":
        pattern = _compile(arg, options)
        return any(pattern.search(str(v)) for v in _values(actual))
    if op == "$contains":
        if isinstance(actual, list):
            return arg in actual
        return isinstance(actual, str) and str(arg) in actual
    raise ValueError(f"unknown operator {op}")


def _values(actual: Any) -> Sequence[Any]:
    if actual is None:
        return ()
    return actual if isinstance(actual, list) else (actual,)


def _eq(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list) and not isinstance(expected, list):
        return expected in actual
    return actual == expected


def build(*, username: str | None = None, name_regex: str | None = None, tags: Sequence[str] = ()) -> str:
    """The stored run filter for the wizard's toggles (user, run-name regex, tags: all required)."""
    parts: list[dict[str, Any]] = []
    if username:
        parts.append({"username": {"$eq": username}})
    if name_regex:
        parts.append({"display_name": {"$regex": name_regex}})
    for tag in tags:
        parts.append({"tags": {"$contains": tag}})
    text = json.dumps({"$and": parts})
    parse(text)  # validates the regex
    return text


def split(text: str | None) -> tuple[str | None, str | None, tuple[str, ...]] | None:
    """The inverse of `build` for the wizard: (username, name regex, tags), or None when the
    filter is more complex than the wizard can show (then show it as raw JSON)."""
    expr = parse(text)
    if set(expr) != {"$and"}:
        return None
    username = name_regex = None
    tags: list[str] = []
    for part in expr["$and"]:
        if not isinstance(part, dict) or len(part) != 1:
            return None
        (field, cond), = part.items()
        field = FIELDS.get(field, field)
        op, arg = _single_op(cond)
        if field == "username" and op == "$eq" and username is None:
            username = arg
        elif field == "display_name" and op == "$regex" and name_regex is None:
            name_regex = arg
        elif field == "tags" and op in ("$contains", "$eq"):
            tags.append(arg)
        else:
            return None
    return username, name_regex, tuple(tags)


def _single_op(cond: Any) -> tuple[str, Any]:
    if isinstance(cond, dict):
        if len(cond) == 1:
            (op, arg), = cond.items()
            return op, arg
        return "", None
    return "$eq", cond


def describe(text: str | None) -> str:
    """Human text: `all runs`, or e.g. `runs by alice whose name matches ^exp-`."""
    try:
        split_ = split(text)
    except ValueError as exc:
        return f"invalid run filter: {exc}"
    if split_ is None:
        return f"runs matching {text}"
    username, name_regex, tags = split_
    if not (username or name_regex or tags):
        return "all runs"
    words = ["runs"]
    if username:
        words.append(f"by {username}")
    if name_regex:
        words.append(f"whose name matches {name_regex}")
    if tags:
        words.append("tagged " + ", ".join(tags))
    return " ".join(words)
