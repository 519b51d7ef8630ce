"""The five-step event loop (五步工作法) as data: states, labels and allowed transitions."""
from __future__ import annotations

# Ordered states: the five steps, then the two terminal states.
STATES: dict[str, str] = {
    "collect": "信息收集",
    "discover": "问题发现",
    "assign": "任务分办",
    "handle": "协同处置",
    "feedback": "结果反馈",
    "closed": "已办结",
    "returned": "已退回",
}
OPEN_STATES = ("collect", "discover", "assign", "handle", "feedback")
TERMINAL_STATES = ("closed", "returned")

# Allowed transitions: from-state -> {to-state: action label}. Anything else is refused.
TRANSITIONS: dict[str, dict[str, str]] = {
    "collect": {"discover": "核实立案", "returned": "退回"},
    "discover": {"assign": "派单", "returned": "退回"},
    "assign": {"handle": "签收", "discover": "召回", "assign": "改派"},
    "handle": {"feedback": "提交结果", "assign": "改派"},
    "feedback": {"closed": "核查办结", "handle": "返工"},
    "closed": {"handle": "重新打开"},
    "returned": {"discover": "重新受理"},
}

SEVERITIES: dict[int, str] = {1: "一般", 2: "较重", 3: "严重", 4: "紧急"}
LEVELS: dict[str, str] = {"grid": "网格", "community": "社区", "subdistrict": "街道"}


class TransitionError(ValueError):
    """Raised when an event is asked to move along a transition that is not allowed."""


def check_transition(from_state: str, to_state: str) -> str:
    """Return the action label of an allowed transition, or raise TransitionError with a reason."""
    allowed = TRANSITIONS.get(from_state)
    if allowed is None:
        raise TransitionError(f"未知状态 {from_state!r}")
    if to_state not in allowed:
        names = "、".join(STATES[s] for s in allowed) or "无"
        raise TransitionError(
            f"不能从「{STATES.get(from_state, from_state)}」转到「{STATES.get(to_state, to_state)}」"
            f"（允许：{names}）")
    return allowed[to_state]
