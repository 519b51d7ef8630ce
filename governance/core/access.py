"""Roles as data and the Principal every request acts as: permissions plus an area-tree scope."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import false, or_

from .scope import subtree

# What a principal may do. Area scope is separate: a permission applies only inside the scope.
PERMISSIONS: dict[str, str] = {
    "view_cockpit": "查看驾驶舱（地图、指标、预警）",
    "view_ledger": "查看事件台账与事件详情",
    "export": "导出事件（CSV / Excel）",
    "dispatch": "派单、改派、推进环节、调整层级、确认预警、批量派单",
    "unmask": "查看报事人完整姓名与电话（留痕）",
    "run_drills": "发起网格赶考演练",
    "view_rules": "查看预警规则",
    "view_quarantine": "查看隔离区（含原始报文）",
    "admin": "管理账号、大屏设备与接入令牌",
    "view_people": "查看人口底数名单（特殊人群户、经营场所，脱敏）",
    "export_people": "导出人口底数名单（留痕）",
    "unmask_people": "查看人口底数中的完整姓名与电话（填写原因，留痕）",
    "respond_whistle": "职能部门：对本部门的吹哨请求报到、回复或退回",
    "view_alarm_quality": "查看预警质量、督办与搁置清单",
}

# Roles people can hold, each with the area level its scope is anchored at.
ROLES: dict[str, dict] = {
    "admin": {"label": "系统管理员", "levels": None,
              "permissions": set(PERMISSIONS)},
    "subdistrict_leader": {"label": "街道领导", "levels": ("subdistrict",),
                           "permissions": {"view_cockpit", "view_ledger", "export", "dispatch", "unmask",
                                           "run_drills", "view_rules", "view_people", "export_people",
                                           "unmask_people", "view_alarm_quality"}},
    "community_staff": {"label": "社区工作人员", "levels": ("community",),
                        "permissions": {"view_cockpit", "view_ledger", "export", "dispatch", "unmask",
                                        "view_rules", "view_people", "export_people",
                                        "unmask_people", "view_alarm_quality"}},
    "grid_worker": {"label": "网格员", "levels": ("general_grid", "micro_grid", "dedicated_grid"),
                    "permissions": {"view_cockpit", "view_ledger", "view_rules"}},
    "viewer": {"label": "只读查看", "levels": None,
               "permissions": {"view_cockpit", "view_ledger", "view_rules"}},
    # A department (吹哨报到): scope is the area it serves; it sees only its own 报到 requests there.
    "department": {"label": "职能部门", "levels": ("district", "subdistrict", "community"),
                   "permissions": {"respond_whistle"}},
}
# Principals that are not people: a wall display and a portal iframe.
MACHINE_PERMISSIONS = {"kiosk": {"view_cockpit"}, "embed": {"view_cockpit"}}
PANELS = {"kpis": "指标卡", "map": "网格地图", "warnings": "预警列表", "trends": "趋势图"}


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a person, a wall device, a portal embed, or nobody."""

    kind: str                          # "user", "kiosk", "embed" or "anonymous"
    name: str = ""
    role: str | None = None
    scope: tuple[str, ...] = ()        # area paths whose subtrees are visible ("/" = everything)
    home: str | None = None            # area code a view opens on
    panels: frozenset = field(default_factory=lambda: frozenset(PANELS))
    user_id: int | None = None
    device_id: int | None = None
    staff_id: int | None = None
    session_id: int | None = None
    csrf: str | None = None
    playlist: tuple = ()
    department: str | None = None      # a department account's department code (吹哨报到)

    @property
    def permissions(self) -> set[str]:
        """Everything this principal may do."""
        if self.kind == "user" and self.role in ROLES:
            return ROLES[self.role]["permissions"]
        return MACHINE_PERMISSIONS.get(self.kind, set())

    def can(self, permission: str) -> bool:
        """True when the principal holds `permission` (unknown permissions are a bug)."""
        if permission not in PERMISSIONS:
            raise KeyError(f"unknown permission {permission!r}")
        return permission in self.permissions

    def covers(self, path: str | None) -> bool:
        """True when an area path lies inside this principal's scope."""
        return bool(path) and any(path.startswith(root) for root in self.scope)

    def shows(self, panel: str) -> bool:
        """True when this principal may see a cockpit panel (embeds may be limited to some)."""
        return panel in self.panels

    @property
    def label(self) -> str:
        """Human name of the role, for headers and logs."""
        if self.kind == "user":
            return ROLES.get(self.role, {}).get("label", self.role or "")
        return {"kiosk": "大屏设备", "embed": "门户嵌入", "anonymous": "未登录"}[self.kind]


ANONYMOUS = Principal(kind="anonymous")


def scope_condition(principal: Principal, column):
    """SQL condition keeping rows whose area-path `column` lies inside the principal's scope."""
    if "/" in principal.scope:
        return column.isnot(None)
    if not principal.scope:
        return false()
    return or_(*[subtree(column, root) for root in principal.scope])


def validate_role(role: str, area_level: str | None) -> None:
    """Raise ValueError unless `role` exists and may be anchored at an area of `area_level`."""
    if role not in ROLES:
        raise ValueError(f"未知角色 {role!r}（可选：{', '.join(ROLES)}）")
    levels = ROLES[role]["levels"]
    if levels and area_level not in levels:
        raise ValueError(f"角色 {ROLES[role]['label']} 需要绑定到 {'/'.join(levels)} 级区域，而不是 {area_level}")


# 工作简报 (docs/briefs.md): leaders read and generate their area's weekly and monthly reports.
PERMISSIONS["view_briefs"] = "查看、生成并下载本辖区工作简报（周报、月报）"
for _role in ("admin", "subdistrict_leader", "community_staff"):
    ROLES[_role]["permissions"].add("view_briefs")


# 统一表单推送 (docs/forms.md): leaders and community staff push short forms; grid workers answer their own.
PERMISSIONS["push_forms"] = "编制并向辖区推送统一表单，查看进度并导出回答（留痕）"
PERMISSIONS["answer_forms"] = "填写分派给自己的统一表单"
for _role in ("admin", "subdistrict_leader", "community_staff"):
    ROLES[_role]["permissions"].add("push_forms")
for _role in ("admin", "grid_worker"):
    ROLES[_role]["permissions"].add("answer_forms")


# 敲门行动 (docs/people.md): leaders and community staff start a one-off visit campaign in their area and watch it.
PERMISSIONS["run_campaigns"] = "发起敲门行动（向辖区某类特殊人群每户派一次走访）并查看进度"
for _role in ("admin", "subdistrict_leader", "community_staff"):
    ROLES[_role]["permissions"].add("run_campaigns")
