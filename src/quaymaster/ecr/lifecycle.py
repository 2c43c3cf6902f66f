"""Lifecycle policies: validation and evaluation (ECR, section 3).

``parse_policy`` refuses a policy ECR would refuse, naming the rule.
``evaluate_lifecycle_policy`` answers which images a policy expires, over an
Arrow table of images, vectorized with numpy and Arrow compute: a tag test is
one pass over all tags of all images, a count rule one sort shared by every
rule, so 100,000 images under ten rules take milliseconds.

The evaluation, as ECR documents it: rules are taken by ascending priority;
each rule *identifies* every image it matches (also those higher rules
matched or expired), picks its candidates (all after the newest N, or those
pushed more than N days ago), and expires a candidate unless the image
matches a higher-priority rule. An image is expired by one rule or none.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from quaymaster.errors import InvalidInputError

DAY = 86400
_RULE_KEYS = {"rulePriority", "description", "selection", "action"}
_SELECTION_KEYS = {"tagStatus", "tagPrefixList", "tagPatternList", "countType", "countUnit",
                   "countNumber"}


class LifecyclePolicyError(InvalidInputError):
    """A lifecycle policy ECR refuses (InvalidParameterException); names the rule."""


@dataclasses.dataclass(frozen=True)
class Rule:
    priority: int
    tag_status: str                 # tagged | untagged | any
    prefixes: tuple[str, ...]
    patterns: tuple[str, ...]
    count_type: str                 # imageCountMoreThan | sinceImagePushed
    count_number: int
    description: str | None = None


# -- validation ---------------------------------------------------------------
def parse_policy(policy: str | dict) -> list[Rule]:
    """The policy's rules in ascending priority, or LifecyclePolicyError naming the rule."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError as exc:
            raise LifecyclePolicyError(f"Lifecycle policy is not valid JSON: {exc}",
                                       field="lifecyclePolicyText") from None
    if not isinstance(policy, dict) or set(policy) != {"rules"} or not isinstance(policy["rules"], list):
        raise LifecyclePolicyError('A lifecycle policy is {"rules": [rule, ...]} and nothing else',
                                   field="lifecyclePolicyText", value=policy)
    if not policy["rules"]:
        raise LifecyclePolicyError("A lifecycle policy needs at least one rule", field="rules")
    rules = [_parse_rule(raw, i) for i, raw in enumerate(policy["rules"])]
    _check_rule_set(rules)
    return sorted(rules, key=lambda r: r.priority)


def _fail(index: int, raw: Any, message: str) -> LifecyclePolicyError:
    priority = raw.get("rulePriority") if isinstance(raw, dict) else None
    name = f"rule {index + 1}" + (f" (rulePriority {priority})" if priority is not None else "")
    return LifecyclePolicyError(f"Invalid lifecycle policy: {name}: {message}",
                                field=f"rules[{index}]", value=raw)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_members(i: int, raw: Any, value: Any, allowed: set, what: str) -> None:
    """``value`` (the rule or its selection) is an object with only ``allowed`` members."""
    if not isinstance(value, dict):
        raise _fail(i, raw, f"{what} must be an object")
    unknown = set(value) - allowed
    if unknown:
        raise _fail(i, raw, f"unknown {what} member(s) {sorted(unknown)}")


def _parse_rule(raw: Any, i: int) -> Rule:
    _check_members(i, raw, raw, _RULE_KEYS, "rule")
    priority = raw.get("rulePriority")
    if not _is_int(priority) or priority < 1:
        raise _fail(i, raw, f"rulePriority must be an integer >= 1, not {priority!r}")
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise _fail(i, raw, "description must be a string")
    if raw.get("action") != {"type": "expire"}:
        raise _fail(i, raw, f'action must be {{"type": "expire"}}, not {raw.get("action")!r}')
    sel = raw.get("selection")
    _check_members(i, raw, sel, _SELECTION_KEYS, "selection")
    status = sel.get("tagStatus")
    if status not in ("tagged", "untagged", "any"):
        raise _fail(i, raw, f"tagStatus must be tagged, untagged or any, not {status!r}")
    prefixes, patterns = _tag_lists(sel, status, i, raw)
    count_type, number = _count(sel, i, raw)
    return Rule(priority, status, prefixes, patterns, count_type, number, description)


def _tag_lists(sel: dict, status: str, i: int, raw: dict) -> tuple[tuple, tuple]:
    lists = {}
    for key in ("tagPrefixList", "tagPatternList"):
        if key in sel:
            value = sel[key]
            if not isinstance(value, list) or not value or not all(
                    isinstance(v, str) and v for v in value):
                raise _fail(i, raw, f"{key} must be a non-empty list of non-empty strings")
            lists[key] = tuple(value)
    if status == "tagged" and len(lists) != 1:
        raise _fail(i, raw, "tagStatus tagged needs exactly one of tagPrefixList or tagPatternList")
    if status != "tagged" and lists:
        raise _fail(i, raw, f"tagStatus {status} takes neither tagPrefixList nor tagPatternList")
    for pattern in lists.get("tagPatternList", ()):
        if pattern.count("*") > 4:
            raise _fail(i, raw, f"tag pattern {pattern!r} has more than 4 wildcards")
    return lists.get("tagPrefixList", ()), lists.get("tagPatternList", ())


def _count(sel: dict, i: int, raw: dict) -> tuple[str, int]:
    count_type, number = sel.get("countType"), sel.get("countNumber")
    if count_type not in ("imageCountMoreThan", "sinceImagePushed"):
        raise _fail(i, raw, f"countType must be imageCountMoreThan or sinceImagePushed, "
                            f"not {count_type!r}")
    if not _is_int(number) or number < 1:
        raise _fail(i, raw, f"countNumber must be an integer >= 1, not {number!r}")
    if count_type == "sinceImagePushed" and sel.get("countUnit") != "days":
        raise _fail(i, raw, f"sinceImagePushed needs countUnit days, not {sel.get('countUnit')!r}")
    if count_type == "imageCountMoreThan" and "countUnit" in sel:
        raise _fail(i, raw, "countUnit is only allowed with countType sinceImagePushed")
    return count_type, number


def _check_rule_set(rules: list[Rule]) -> None:
    seen: dict[int, int] = {}
    for i, rule in enumerate(rules):
        if rule.priority in seen:
            raise LifecyclePolicyError(
                f"Invalid lifecycle policy: rule {i + 1} (rulePriority {rule.priority}): "
                f"rulePriority {rule.priority} is also used by rule {seen[rule.priority] + 1}",
                field=f"rules[{i}]", value=rule.priority)
        seen[rule.priority] = i
    untagged = [i for i, r in enumerate(rules) if r.tag_status == "untagged"]
    if len(untagged) > 1:
        raise LifecyclePolicyError(
            f"Invalid lifecycle policy: rule {untagged[1] + 1} (rulePriority "
            f"{rules[untagged[1]].priority}): only one rule may select untagged images",
            field=f"rules[{untagged[1]}]")
    highest = max(r.priority for r in rules)
    for i, rule in enumerate(rules):
        if rule.tag_status == "any" and rule.priority != highest:
            raise LifecyclePolicyError(
                f"Invalid lifecycle policy: rule {i + 1} (rulePriority {rule.priority}): a rule "
                f"with tagStatus any must have the highest rulePriority ({highest} is higher)",
                field=f"rules[{i}]", value=rule.priority)


# -- evaluation ---------------------------------------------------------------
def evaluate_lifecycle_policy(policy: str | dict | list[Rule], images: pa.Table,
                              now: float | _dt.datetime) -> pa.Table:
    """The images ``policy`` expires at ``now``, oldest first, with the rule that expires each.

    ``images`` has columns ``imageDigest`` (string), ``imageTags`` (list of
    strings; null or empty is untagged) and ``imagePushedAt`` (timestamp, or
    epoch seconds as a number). The result has those columns for the expired
    images plus ``appliedRulePriority`` (int32), sorted by ``imagePushedAt``
    then digest.
    """
    rules = policy if isinstance(policy, list) else parse_policy(policy)
    digests, tags, pushed = _columns(images)
    rank = _digest_rank(digests)
    applied = expire_by_rule(rules, rank, tags, pushed, _epoch(now))
    chosen = np.flatnonzero(applied)
    chosen = chosen[np.lexsort((rank[chosen], pushed[chosen]))]
    out = images.select(["imageDigest", "imageTags", "imagePushedAt"]).take(pa.array(chosen))
    return out.append_column("appliedRulePriority", pa.array(applied[chosen], pa.int32()))


def expire_by_rule(rules: list[Rule], digest_rank: np.ndarray, tags: pa.Array,
                   pushed: np.ndarray, now: float) -> np.ndarray:
    """Per image, the priority of the rule that expires it (0: none).

    ``digest_rank`` orders images of equal push time; ``tags`` is list<string>.
    """
    n = len(pushed)
    flat, parents = _flatten(tags, n)
    newest_first = np.lexsort((digest_rank, -pushed))
    applied = np.zeros(n, np.int64)
    protected = np.zeros(n, bool)      # matched by a higher-priority rule
    cache: dict[tuple[str, str], np.ndarray] = {}
    for rule in rules:
        matched = _matches(rule, flat, parents, n, cache)
        if rule.count_type == "imageCountMoreThan":
            in_order = matched[newest_first]
            candidate = np.empty(n, bool)
            candidate[newest_first] = in_order & (np.cumsum(in_order) > rule.count_number)
        else:
            candidate = matched & (now - pushed > rule.count_number * DAY)
        applied[candidate & ~protected] = rule.priority
        protected |= matched
    return applied


def _matches(rule: Rule, flat: pa.Array, parents: np.ndarray, n: int, cache: dict) -> np.ndarray:
    if rule.tag_status == "any":
        return np.ones(n, bool)
    if rule.tag_status == "untagged":
        return np.bincount(parents, minlength=n) == 0
    result = np.ones(n, bool)
    for kind, text in [("prefix", p) for p in rule.prefixes] + [("pattern", p) for p in rule.patterns]:
        key = (kind, text)
        if key not in cache:
            if kind == "prefix":
                hit = pc.starts_with(flat, text)
            else:
                hit = pc.match_substring_regex(flat, _pattern_regex(text))
            has = np.zeros(n, bool)
            has[parents[np.asarray(hit.to_numpy(zero_copy_only=False), bool)]] = True
            cache[key] = has
        result &= cache[key]
    return result


def _pattern_regex(pattern: str) -> str:
    """A tag pattern (``*`` = any run of characters) as an anchored RE2 expression."""
    return "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"


def _flatten(tags: pa.Array, n: int) -> tuple[pa.Array, np.ndarray]:
    """All tags of all images as one string array, and the image each belongs to."""
    if isinstance(tags, pa.ChunkedArray):
        tags = tags.combine_chunks()
    tags = tags.fill_null(pa.scalar([], tags.type)) if tags.null_count else tags
    flat = pc.list_flatten(tags)
    parents = np.asarray(pc.list_parent_indices(tags).to_numpy(zero_copy_only=False), np.int64)
    valid = np.asarray(pc.is_valid(flat).to_numpy(zero_copy_only=False), bool)
    if not valid.all():  # a null tag is no tag
        flat, parents = flat.filter(pa.array(valid)), parents[valid]
    return flat.cast(pa.string()) if flat.type != pa.string() else flat, parents


def _digest_rank(digests: pa.Array) -> np.ndarray:
    order = np.asarray(pc.sort_indices(digests).to_numpy(), np.int64)
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _columns(images: pa.Table) -> tuple[pa.Array, pa.Array, np.ndarray]:
    missing = {"imageDigest", "imageTags", "imagePushedAt"} - set(images.column_names)
    if missing:
        raise InvalidInputError(f"image table lacks column(s) {sorted(missing)}",
                                field="images", value=sorted(missing))
    digests = images.column("imageDigest").combine_chunks()
    tags = images.column("imageTags").combine_chunks()
    if images.num_rows == 0:  # an empty table built from Python lists has null-typed columns
        digests, tags = pa.array([], pa.string()), pa.array([], pa.list_(pa.string()))
    if not pa.types.is_string(digests.type) and not pa.types.is_large_string(digests.type):
        raise InvalidInputError(f"imageDigest must be strings, not {digests.type}",
                                field="imageDigest", value=str(digests.type))
    if not (pa.types.is_list(tags.type) or pa.types.is_large_list(tags.type)):
        raise InvalidInputError(f"imageTags must be a list of strings, not {tags.type}",
                                field="imageTags", value=str(tags.type))
    if digests.null_count:
        raise InvalidInputError("imageDigest has nulls", field="imageDigest")
    return digests, tags, _pushed_seconds(images.column("imagePushedAt").combine_chunks())


def _pushed_seconds(column: pa.Array) -> np.ndarray:
    if len(column) == 0:
        return np.zeros(0, np.float64)
    if column.null_count:
        raise InvalidInputError("imagePushedAt has nulls", field="imagePushedAt")
    if pa.types.is_timestamp(column.type):
        scale = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[column.type.unit]
        return column.cast(pa.int64()).to_numpy().astype(np.float64) / scale
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return column.to_numpy().astype(np.float64)
    raise InvalidInputError(f"imagePushedAt must be a timestamp or epoch seconds, not "
                            f"{column.type}", field="imagePushedAt", value=str(column.type))


def _epoch(now: float | _dt.datetime) -> float:
    if isinstance(now, _dt.datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=_dt.timezone.utc)
        return now.timestamp()
    return float(now)
