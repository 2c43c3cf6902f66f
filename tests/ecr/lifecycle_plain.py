"""A second, plain lifecycle evaluation written from the ECR lifecycle rules alone.

No numpy, no Arrow: images are dicts, rules are the policy's JSON, and each
step of the written rules is a loop. The fast path must agree with it.

Rules as written: a rule matches an image when (any) always, (untagged) it
has no tag, (tagged + prefixes) every prefix is a prefix of some tag,
(tagged + patterns) every pattern matches some whole tag with ``*`` as any
run. Rules by ascending priority; each identifies every image it matches;
imageCountMoreThan N: sorted newest first (ties by digest), candidates are
after the first N; sinceImagePushed N days: pushed more than N*86400 s before
now. A candidate is expired by the rule unless it matches a higher-priority
rule. Result: expired images oldest first, with the rule's priority.
"""

from __future__ import annotations


def pattern_matches(pattern: str, tag: str) -> bool:
    """Whole-string match with '*' as any run of characters (plain recursion over the pieces)."""
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return pattern == tag
    first, last, middle = pieces[0], pieces[-1], pieces[1:-1]
    if not tag.startswith(first) or not tag.endswith(last) or len(tag) < len(first) + len(last):
        return False
    position, end = len(first), len(tag) - len(last)
    for piece in middle:
        found = tag.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def rule_matches(rule: dict, tags: list[str]) -> bool:
    selection = rule["selection"]
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return len(tags) == 0
    for prefix in selection.get("tagPrefixList", []):
        if not any(tag.startswith(prefix) for tag in tags):
            return False
    for pattern in selection.get("tagPatternList", []):
        if not any(pattern_matches(pattern, tag) for tag in tags):
            return False
    return True


def candidates(rule: dict, matched: list[dict], now: float) -> list[dict]:
    selection = rule["selection"]
    number = selection["countNumber"]
    if selection["countType"] == "imageCountMoreThan":
        newest_first = sorted(matched, key=lambda im: im["digest"])
        newest_first = sorted(newest_first, key=lambda im: im["pushed"], reverse=True)
        return newest_first[number:]
    return [im for im in matched if now - im["pushed"] > number * 86400]


def evaluate(policy: dict, images: list[dict], now: float) -> list[tuple[str, int]]:
    """[(digest, rulePriority)] of expired images, oldest first (ties by digest).

    ``images``: [{"digest": str, "tags": [str], "pushed": epoch seconds}].
    """
    rules = sorted(policy["rules"], key=lambda r: r["rulePriority"])
    expired: dict[str, int] = {}
    higher_rules: list[dict] = []
    for rule in rules:
        matched = [im for im in images if rule_matches(rule, im["tags"])]
        for image in candidates(rule, matched, now):
            if any(rule_matches(h, image["tags"]) for h in higher_rules):
                continue
            if image["digest"] not in expired:
                expired[image["digest"]] = rule["rulePriority"]
        higher_rules.append(rule)
    by_digest = {im["digest"]: im for im in images}
    order = sorted(expired, key=lambda d: (by_digest[d]["pushed"], d))
    return [(d, expired[d]) for d in order]
