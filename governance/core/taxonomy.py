"""The event taxonomy (大类/小类) and departments, loaded from taxonomy.yaml and validated."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property, lru_cache
from pathlib import Path

import yaml

TAXONOMY_FILE = Path(__file__).with_name("taxonomy.yaml")
LEVELS = ("grid", "community", "subdistrict")


class TaxonomyError(ValueError):
    """Raised when taxonomy.yaml is malformed; the message names the offending entry."""


@dataclass(frozen=True)
class Category:
    """One minor category (小类) with its major class (大类) and handling defaults."""

    code: str
    name: str
    major_code: str
    major_name: str
    family: str
    sla_hours: float
    severity: int
    level: str
    departments: tuple[str, ...] = field(default_factory=tuple)
    verify: bool = False  # a citizen's or rider's report must be 核实 before dispatch

    @cached_property
    def sla(self) -> timedelta:
        """The handling deadline's distance from the report (`sla_hours`)."""
        return timedelta(hours=self.sla_hours)


@dataclass(frozen=True)
class Taxonomy:
    """All categories, departments and families of one taxonomy file."""

    categories: dict[str, Category]
    departments: dict[str, dict]
    families: dict[str, str]

    def family_of(self, code: str) -> str:
        """Return the family ('safety', 'city_management' …) of a minor category code."""
        return self.categories[code].family


def parse_taxonomy(doc: dict) -> Taxonomy:
    """Validate a parsed taxonomy document and build a Taxonomy, raising TaxonomyError on faults."""
    departments = {d["code"]: d for d in doc.get("departments", [])}
    for code, dept in departments.items():  # also the admin console's check of an edited department (#22)
        name = dept.get("name")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 60:
            raise TaxonomyError(f"部门 {code}：名称须为 1–60 个字符")
        if not isinstance(dept.get("enabled", True), bool):
            raise TaxonomyError(f"部门 {code}：启用状态须为 true 或 false")
    families = dict(doc.get("families", {}))
    categories: dict[str, Category] = {}
    for major in doc.get("majors", []):
        if major.get("family") not in families:
            raise TaxonomyError(f"major {major.get('code')}: unknown family {major.get('family')!r}")
        for minor in major.get("minors", []):
            code = str(minor.get("code", ""))
            where = f"minor {code or '?'} ({minor.get('name', '?')})"
            if not code.startswith(str(major["code"])) or len(code) != 4:
                raise TaxonomyError(f"{where}: code must be 4 digits starting with {major['code']}")
            if code in categories:
                raise TaxonomyError(f"{where}: duplicate code")
            if minor.get("level") not in LEVELS:
                raise TaxonomyError(f"{where}: level must be one of {LEVELS}")
            if not 1 <= int(minor.get("severity", 0)) <= 4:
                raise TaxonomyError(f"{where}: severity must be 1..4")
            if float(minor.get("sla_hours", 0)) <= 0:
                raise TaxonomyError(f"{where}: sla_hours must be positive")
            unknown = [d for d in minor.get("departments", []) if d not in departments]
            if unknown:
                raise TaxonomyError(f"{where}: unknown departments {unknown}")
            categories[code] = Category(
                code=code, name=minor["name"], major_code=str(major["code"]),
                major_name=major["name"], family=major["family"],
                sla_hours=float(minor["sla_hours"]), severity=int(minor["severity"]),
                level=minor["level"], departments=tuple(minor.get("departments", [])),
                verify=bool(minor.get("verify", False)),
            )
    if not categories:
        raise TaxonomyError("taxonomy defines no categories")
    return Taxonomy(categories=categories, departments=departments, families=families)


@lru_cache(maxsize=1)
def load_taxonomy(path: Path = TAXONOMY_FILE) -> Taxonomy:
    """Load and validate the taxonomy file shipped with the project (cached)."""
    with open(path, encoding="utf-8") as fh:
        return parse_taxonomy(yaml.safe_load(fh))
