"""The taxonomy file loads, and malformed taxonomies fail with a message naming the entry."""
import copy

import pytest
import yaml

from governance.core.taxonomy import TAXONOMY_FILE, TaxonomyError, load_taxonomy, parse_taxonomy


def _doc():
    return yaml.safe_load(TAXONOMY_FILE.read_text(encoding="utf-8"))


def test_shipped_taxonomy_has_two_levels_and_the_domain_items():
    tax = load_taxonomy()
    names = {c.name for c in tax.categories.values()}
    for required in ["燃气隐患", "消防通道堵塞", "高空抛物", "飞线充电", "噪音扰民", "油烟扰民",
                     "楼道堆物", "路沿石损坏"]:
        assert required in names
    assert {c.major_name for c in tax.categories.values()} >= {"市容环境", "街面秩序", "突发事件"}
    assert {c.family for c in tax.categories.values()} == set(tax.families)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["majors"][0]["minors"][0].update(level="city"), "level must be one of"),
    (lambda d: d["majors"][0]["minors"][0].update(severity=9), "severity must be 1..4"),
    (lambda d: d["majors"][0]["minors"][0].update(departments=["nobody"]), "unknown departments"),
    (lambda d: d["majors"][0]["minors"][0].update(code="9999"), "code must be 4 digits"),
    (lambda d: d["majors"][0]["minors"].append(dict(d["majors"][0]["minors"][0])), "duplicate code"),
    (lambda d: d["majors"][0].update(family="nope"), "unknown family"),
])
def test_malformed_taxonomy_is_refused_with_reason(mutate, message):
    doc = copy.deepcopy(_doc())
    mutate(doc)
    with pytest.raises(TaxonomyError, match=message):
        parse_taxonomy(doc)
