"""分色预警: colour events and grids red/orange/yellow/blue from rules kept as data."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from ..core.levels import LABELS, LEVELS, RANK  # noqa: F401 - the colours, named here too

RULES_FILE = Path(__file__).with_name("warning_rules.yaml")


class RulesError(ValueError):
    """The warning rules file is invalid; the message says where and why."""


@dataclass(frozen=True)
class Rules:
    """Validated warning rules (see warning_rules.yaml for their meaning)."""

    colors: dict
    sla_tiers_hours: dict
    elapsed: tuple
    red_at_severity: int
    overdue_red_at_severity: int
    accept_hours: float
    accept_level: str
    repeat_count: int
    repeat_days: int
    repeat_level: str
    rework_level: str
    grid_rules: tuple
    spike_baseline_days: int
    spike_min_count: int
    spike_orange_p: float
    spike_red_p: float
    parent: str
    escalate_not_accepted_hours: float = 4.0
    escalate_overdue: bool = True
    notify_levels: tuple = ("red", "orange")
    notify_max_per_sync: int = 20
    # (level, children's level counted (or worse), minimum share, minimum count) — first match wins
    parent_rules: tuple = ()


@dataclass(frozen=True)
class EventFacts:
    """What colouring an event needs to know about it."""

    status: str
    severity: int
    reported_at: datetime
    due_at: datetime | None
    dispatched_at: datetime | None = None
    accepted_at: datetime | None = None
    repeat_count: int = 1
    rework_count: int = 0
    whistles_overdue: int = 0  # whistled departments past their 报到 deadline (governance.events.whistles)


def worst(*levels: str) -> str:
    """The most severe of the given levels."""
    return max(levels, key=RANK.__getitem__, default="none")


def _level(value, where: str) -> str:
    if value not in LEVELS:
        raise RulesError(f"{where}: level must be one of {', '.join(LEVELS)}, not {value!r}")
    return value


def parse_rules(doc: dict) -> Rules:
    """Validate a parsed rules document (raise RulesError naming the faulty entry)."""
    try:
        ev, grid = doc["event"], doc["grid"]
        elapsed = []
        for i, r in enumerate(ev["elapsed"]):
            if float(r["at_least"]) <= 0:
                raise RulesError(f"event.elapsed[{i}]: at_least must be positive")
            elapsed.append((float(r["at_least"]), _level(r["level"], f"event.elapsed[{i}]"), str(r["reason"])))
        if [e[0] for e in elapsed] != sorted((e[0] for e in elapsed), reverse=True):
            raise RulesError("event.elapsed: list thresholds from the largest down")
        grid_rules = []
        for i, r in enumerate(grid["from_events"]):
            r = dict(r) if isinstance(r, dict) else {}
            level = _level(r.pop("level", None), f"grid.from_events[{i}]")
            counts = {k.removesuffix("_events"): int(v) for k, v in r.items()}
            for k in counts:
                _level(k, f"grid.from_events[{i}] ({k}_events)")
            grid_rules.append((level, tuple(counts.items())))
        spike = grid["spike"]
        parent, parent_rules = _parent_rules(grid.get("parent", "worst"))
        rules = Rules(
            colors={k: str(doc["colors"][k]) for k in LEVELS},
            sla_tiers_hours={int(k): float(v) for k, v in (doc.get("sla_tiers_hours") or {}).items()},
            elapsed=tuple(elapsed), red_at_severity=int(ev["red_at_severity"]),
            overdue_red_at_severity=int(ev["overdue_red_at_severity"]),
            accept_hours=float(ev["accept_hours"]), accept_level=_level(ev["accept_level"], "event.accept_level"),
            repeat_count=int(ev["repeat"]["count"]), repeat_days=int(ev["repeat"]["days"]),
            repeat_level=_level(ev["repeat"]["level"], "event.repeat.level"),
            rework_level=_level(ev["rework_level"], "event.rework_level"),
            grid_rules=tuple(grid_rules), spike_baseline_days=int(spike["baseline_days"]),
            spike_min_count=int(spike["min_count"]), spike_orange_p=float(spike["orange_p"]),
            spike_red_p=float(spike["red_p"]), parent=parent, parent_rules=parent_rules,
            escalate_not_accepted_hours=float((doc.get("escalation") or {}).get("not_accepted_hours", 4)),
            escalate_overdue=bool((doc.get("escalation") or {}).get("overdue_at_level", True)),
            notify_levels=tuple(_level(lv, "notify.levels") for lv in
                                (doc.get("notify") or {}).get("levels", ["red", "orange"])),
            notify_max_per_sync=int((doc.get("notify") or {}).get("max_messages_per_sync", 20)))
    except KeyError as exc:
        raise RulesError(f"missing setting {exc.args[0]!r}") from exc
    except (TypeError, ValueError) as exc:
        if isinstance(exc, RulesError):
            raise
        raise RulesError(f"malformed value: {exc}") from exc
    if not 0 < rules.spike_red_p < rules.spike_orange_p < 1:
        raise RulesError("grid.spike: need 0 < red_p < orange_p < 1")
    return rules


def _parent_rules(value) -> tuple[str, tuple]:
    """grid.parent: "worst" (the worst child), or a list of share rules (see warning_rules.yaml)."""
    if value == "worst":
        return "worst", ()
    if not isinstance(value, list) or not value:
        raise RulesError("grid.parent must be 'worst' or a list of rules {level, children, share, count}")
    out = []
    for i, r in enumerate(value):
        where = f"grid.parent[{i}]"
        if not isinstance(r, dict) or set(r) - {"level", "children", "share", "count"}:
            raise RulesError(f"{where}: a rule has only level, children, share and count")
        level = _level(r.get("level"), where)
        children = _level(r.get("children", level), f"{where} (children)")
        share, count = float(r.get("share", 0)), int(r.get("count", 1))
        if level == "none" or children == "none":
            raise RulesError(f"{where}: level and children must be a warning level, not 'none'")
        if RANK[children] < RANK[level]:
            raise RulesError(f"{where}: a parent cannot be {level} from children that are only {children}")
        if not 0 <= share <= 1:
            raise RulesError(f"{where}: share must be between 0 and 1 (a fraction of the children)")
        if count < 1:
            raise RulesError(f"{where}: count must be at least 1")
        out.append((level, children, share, count))
    if [RANK[r[0]] for r in out] != sorted((RANK[r[0]] for r in out), reverse=True):
        raise RulesError("grid.parent: list rules from the most severe level down")
    return "share", tuple(out)


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> Rules:
    """Load and validate a rules file (cached)."""
    with open(path, encoding="utf-8") as fh:
        return parse_rules(yaml.safe_load(fh))


def event_colour(facts: EventFacts, now: datetime, rules: Rules) -> tuple[str, list[str]]:
    """Colour of one event now, with every reason that contributed (closed events are 'none')."""
    if facts.status in ("closed", "returned"):
        return "none", []
    level, reasons = "none", []

    def bump(new: str, why: str):
        nonlocal level
        if RANK[new] > RANK["none"]:
            reasons.append(why)
            level = worst(level, new)

    due = facts.due_at  # the severity tiers were applied when it was taken in (governance.events.deadlines)
    if due is not None and due > facts.reported_at:
        elapsed = (now - facts.reported_at) / (due - facts.reported_at)
        for threshold, lvl, why in rules.elapsed:
            if elapsed >= threshold:
                bump(lvl, why)
                break
        if elapsed >= 1 and facts.severity >= rules.overdue_red_at_severity:
            bump("red", "严重事件已超期")
    if facts.severity >= rules.red_at_severity:
        bump("red", "紧急事件（如燃气泄漏）立即红色预警")
    if (facts.status == "assign" and facts.dispatched_at is not None and facts.accepted_at is None
            and now - facts.dispatched_at > timedelta(hours=rules.accept_hours)):
        bump(rules.accept_level, f"派单后 {rules.accept_hours:g} 小时未签收")
    if facts.repeat_count >= rules.repeat_count:
        bump(rules.repeat_level, f"同一网格 {rules.repeat_days} 天内同类事件 {facts.repeat_count} 次")
    if facts.rework_count > 0:
        bump(rules.rework_level, "曾被退回返工或重新打开")
    if facts.whistles_overdue > 0:
        from ..events.participation import load_participation

        bump(load_participation().overdue_level, f"{facts.whistles_overdue} 个吹哨部门超时未报到")
    return level, reasons


def poisson_tail(observed: int, mean: float) -> float:
    """P(X ≥ observed) for X ~ Poisson(mean)."""
    if observed <= 0:
        return 1.0
    mean = max(mean, 1e-9)
    term = math.exp(-mean)
    cdf = term
    for k in range(1, observed):
        term *= mean / k
        cdf += term
    return max(0.0, 1.0 - cdf)


def spike_level(observed: int, baseline_mean: float, rules: Rules) -> tuple[str, float]:
    """Level of unusual activity (today vs the grid's own daily mean) and its p-value."""
    if observed < rules.spike_min_count:
        return "none", 1.0
    p = poisson_tail(observed, baseline_mean)
    if p <= rules.spike_red_p:
        return "red", p
    if p <= rules.spike_orange_p:
        return "orange", p
    return "none", p


def grid_colour(event_levels: dict[str, int], rules: Rules, spike: str = "none") -> tuple[str, list[str]]:
    """Colour of a grid from the counts of its open events' colours and its spike level."""
    level, reasons = "none", []
    for rule_level, needs in rules.grid_rules:
        if all(sum(n for lv, n in event_levels.items() if RANK[lv] >= RANK[need]) >= count
               for need, count in needs):
            level = rule_level
            reasons.append("、".join(f"{LABELS[need][:2]}及以上事件 ≥ {count}" for need, count in needs))
            break
    if spike != "none":
        reasons.append("今日事件数显著高于该网格日常水平")
        level = worst(level, spike)
    return level, reasons


def parent_colour(child_levels: list[str], rules: Rules, total: int | None = None) -> str:
    """A parent area's colour from its children's colours (see parent_warning)."""
    return parent_warning(child_levels, rules, total)[0]


def parent_warning(child_levels: list[str], rules: Rules, total: int | None = None,
                   unit: str = "微网格") -> tuple[str, list[str]]:
    """A parent area's colour and reasons from its children's colours.

    `child_levels` are the colours of the children that have one; `total` is how many children
    the parent has in all (default: as many as listed). With parent rules "worst" the parent takes
    its worst child's colour; otherwise the first rule whose share and count of children at that
    level or worse is reached gives the colour, so one red building does not turn a community red.
    """
    n = max(total if total is not None else len(child_levels), len(child_levels))
    if not n:
        return "none", []

    def at_least(level: str) -> int:
        return sum(RANK[c] >= RANK[level] for c in child_levels)

    if rules.parent == "worst":
        level = worst(*child_levels)
        k = at_least(level)
        return (level, [f"下辖 {k}/{n} 个{unit}{LABELS[level]}"]) if level != "none" else ("none", [])
    for level, children, share, count in rules.parent_rules:
        k = at_least(children)
        if k >= min(count, n) and k >= share * n:
            reason = f"下辖 {k}/{n} 个{unit}{_children_label(children)}（{100 * k / n:.0f}%）"
            red = at_least("red")
            if children != "red" and red:
                reason += f"，其中红色 {red} 个"
            return level, [reason]
    return "none", []


def _children_label(level: str) -> str:
    return LABELS[level] if level == "red" else f"{LABELS[level][:2]}及以上预警"


def describe_parent_rules(rules: Rules) -> list[tuple[str, str]]:
    """(level, sentence) per parent rule, for the rules page."""
    if rules.parent == "worst":
        return [("red", "上级区域显示下辖微网格中最严重的颜色。")]
    out = []
    for level, children, share, count in rules.parent_rules:
        need = f"占下辖微网格的 {share:.0%} 及以上且不少于 {count} 个" if share > 0 else f"不少于 {count} 个"
        out.append((level, f"{_children_label(children)}的微网格{need}"))
    return out
