"""Issue #18: a parent area's colour separates areas — by the share of its warned micro-grids."""
import copy
import re
from collections import Counter

import pytest
import yaml
from sqlalchemy import text

from governance.reports.area_stats import child_figures
from governance.alerts.warning_eval import evaluate_scope
from governance.alerts.warnings import (RANK, RULES_FILE, RulesError, describe_parent_rules, load_rules, parent_warning,
                                 parse_rules)

from .conftest import WORLD_NOW

RULES = load_rules()


def _doc():
    return yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))


def test_one_red_building_does_not_turn_a_community_red():
    assert parent_warning(["red"] + ["none"] * 9, RULES, total=80) == ("blue", ["下辖 1/80 个微网格红色预警（1%）"])
    # a few buildings with events past half their time limit: nothing to report on the community
    assert parent_warning(["blue"] * 5 + ["none"] * 20, RULES, total=80) == ("none", [])


def test_the_share_of_red_micro_grids_decides_and_the_reason_says_how_many():
    assert parent_warning(["red"] * 30 + ["orange"] * 10, RULES, total=80) == (
        "red", ["下辖 30/80 个微网格红色预警（38%）"])
    assert parent_warning(["red"] * 12 + ["yellow"] * 10, RULES, total=80) == (
        "orange", ["下辖 12/80 个微网格红色预警（15%）"])
    assert parent_warning(["red"] * 4 + ["yellow"] * 10, RULES, total=80) == (
        "yellow", ["下辖 4/80 个微网格红色预警（5%）"])
    assert parent_warning(["orange"] * 9 + ["yellow"] * 10, RULES, total=80) == (
        "orange", ["下辖 9/80 个微网格橙色及以上预警（11%）"])
    assert parent_warning(["orange"] * 1 + ["yellow"] * 17, RULES, total=80) == (
        "yellow", ["下辖 18/80 个微网格黄色及以上预警（22%）"])
    assert parent_warning([], RULES, total=80) == ("none", [])
    assert parent_warning(["none"] * 5, RULES, total=80) == ("none", [])


def test_a_parent_with_few_micro_grids_is_judged_on_all_of_them():
    assert parent_warning(["red"], RULES, total=1)[0] == "red"
    assert parent_warning(["red", "red"], RULES, total=2)[0] == "red"


def test_worst_child_is_still_available_as_a_rule():
    doc = _doc()
    doc["grid"]["parent"] = "worst"
    rules = parse_rules(doc)
    assert parent_warning(["red"] + ["none"] * 79, rules, total=80)[0] == "red"


@pytest.mark.parametrize("rule, message", [
    ([{"level": "purple", "children": "red", "share": 0.1}], "level must be one of"),
    ([{"level": "red", "children": "red", "share": 1.5}], "share must be between 0 and 1"),
    ([{"level": "red", "children": "red", "count": 0}], "count must be at least 1"),
    ([{"level": "red", "children": "red", "shares": 0.2}], "only level, children, share and count"),
    ([{"level": "yellow", "children": "red"}, {"level": "red", "children": "red"}], "most severe level down"),
    ([], "grid.parent"),
    ([{"level": "red", "children": "orange", "share": 0.5}], "cannot be red from children that are only orange"),
])
def test_invalid_parent_rules_are_refused_with_a_reason(rule, message):
    doc = _doc()
    doc["grid"]["parent"] = rule
    with pytest.raises(RulesError, match=message):
        parse_rules(copy.deepcopy(doc))


def test_the_rules_page_describes_every_parent_rule_in_words():
    sentences = describe_parent_rules(RULES)
    assert len(sentences) == len(RULES.parent_rules)
    assert sentences[0] == ("red", "红色预警的微网格占下辖微网格的 30% 及以上且不少于 3 个")


def test_communities_of_the_seeded_world_differ_in_colour_and_say_why(world_engine):
    with world_engine.connect() as conn:
        sub = conn.execute(text("SELECT path FROM area WHERE level='subdistrict' ORDER BY id LIMIT 1")).scalar()
        warned = evaluate_scope(conn, sub, WORLD_NOW, RULES)
        communities = child_figures(conn, sub, "community", "month", WORLD_NOW, RULES, warned)
        first = next(iter(communities.values()))
        community_path = conn.execute(text("SELECT path FROM area WHERE code=:c"), {"c": first.code}).scalar()
        generals = child_figures(conn, community_path, "general_grid", "month", WORLD_NOW, RULES)
        some_general = conn.execute(text("SELECT path FROM area WHERE level='general_grid' AND path LIKE :p "
                                         "ORDER BY id LIMIT 1"), {"p": community_path + "%"}).scalar()
        micro = child_figures(conn, some_general, "micro_grid", "month", WORLD_NOW, RULES)
    levels = Counter(f.warning for f in communities.values())
    assert len(levels) > 1, f"every community shows the same colour: {levels}"
    assert levels["red"] < len(communities) / 2, levels
    for f in list(communities.values()) + list(generals.values()):
        if f.warning != "none":
            assert f.warning_reasons and re.match(r"下辖 \d+/\d+ 个微网格", f.warning_reasons[0]), f
    for f in micro.values():
        assert not any("下辖" in r for r in f.warning_reasons), f  # a micro-grid has no sub-grids
        if f.warning != "none":
            assert f.warning_reasons, f


def test_warned_area_rows_carry_the_real_reasons():
    from dashboard.components.panels import warned_area_rows
    from dashboard.view_state import ViewState
    from governance.reports.area_stats import AreaFigures

    figures = {"a": AreaFigures("a", "甲社区", 100, warning="red", warning_reasons=("下辖 30/80 个微网格红色预警（38%）",)),
               "b": AreaFigures("b", "乙网格", 10, warning="red", warning_reasons=("红及以上事件 ≥ 3",)),
               "c": AreaFigures("c", "丙社区", 100, warning="yellow")}
    rows = warned_area_rows(figures, ViewState())
    assert [r["name"] for r in rows] == ["乙网格", "甲社区"]
    assert rows[1]["reasons"] == ["下辖 30/80 个微网格红色预警（38%）"]
    assert all("下辖网格存在预警" not in "".join(r["reasons"]) for r in rows)
