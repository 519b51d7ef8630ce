"""Issue #18: a KPI on fewer events than its minimum shows 样本不足, not a percentage (2 against 1 is not −50 %)."""
from sqlalchemy import text

from dashboard.components.kpi_strip import KPI_CARDS, kpi_strip, kpi_values
from governance.figures.kpis import KPI_MIN_SAMPLE, MIN_SAMPLE, KpiSnapshot, compute_kpis, period_bounds

from .conftest import WORLD_NOW

RATES = ("closure_rate", "on_time_rate", "satisfaction_rate", "cases_yoy")


def snap(**kw):
    base = dict(total=100, closed=80, closed_on_time=70, rated=50, satisfied=45, new_today=3, closed_today=2,
                open_count=20, overdue=2, cases=40, cases_last_year=50)
    base.update(kw)
    return KpiSnapshot(**base)


def test_every_rate_has_a_minimum_sample_as_data():
    assert set(KPI_MIN_SAMPLE) == set(RATES) and all(n >= 10 for n in KPI_MIN_SAMPLE.values())
    assert MIN_SAMPLE == 20


def test_rates_on_enough_events_are_percentages():
    values = kpi_values(snap())
    assert values["closure_rate"] == "80.0%" and values["on_time_rate"] == "87.5%"
    assert values["satisfaction_rate"] == "90.0%" and values["cases_yoy"] == "-20.0%"
    edge = kpi_values(snap(total=20, closed=20, closed_on_time=20, rated=20, satisfied=20, cases=20,
                           cases_last_year=20))
    assert [edge[k] for k in RATES] == ["100.0%", "100.0%", "100.0%", "+0.0%"]  # the minimum itself counts


def test_tiny_samples_show_too_few():
    assert kpi_values(snap(total=5, closed=4, closed_on_time=4, rated=2, satisfied=2))["closure_rate"] == "样本不足"
    tiny = kpi_values(snap(total=19, closed=19, closed_on_time=19, rated=19, satisfied=19, cases=2,
                           cases_last_year=1))
    assert [tiny[k] for k in RATES] == ["样本不足"] * 4
    # 诉求同比 needs the minimum in both years: many this year against few last year says nothing either
    assert kpi_values(snap(cases=300, cases_last_year=3))["cases_yoy"] == "样本不足"
    assert kpi_values(snap(cases=3, cases_last_year=300))["cases_yoy"] == "样本不足"
    # counts are never hidden
    assert kpi_values(snap(total=1, new_today=1, open_count=1, overdue=1))["open_count"] == "1"


def test_the_card_says_why_on_hover():
    cards = {c.id: c for c in kpi_strip(snap(total=7, closed=3))}
    card = cards["kpi-closure_rate"]
    assert "kpi-sparse" in card.className and "仅 7 件" in card.title and "少于 20 件" in card.title
    assert card.children[1].children == "样本不足"
    assert "kpi-sparse" not in cards["kpi-satisfaction_rate"].className
    assert len(cards) == len(KPI_CARDS)


def test_a_tiny_area_of_the_world_shows_too_few_and_a_community_shows_rates(world_engine):
    with world_engine.connect() as conn:
        start, end = period_bounds("month", WORLD_NOW)
        grid = conn.execute(text(
            "SELECT a.path, count(e.id) AS n FROM area a LEFT JOIN event e ON e.area_path = a.path "
            "AND e.reported_at >= :s AND e.reported_at <= :t AND e.duplicate_of_id IS NULL AND NOT e.is_drill "
            "AND e.status != 'returned' WHERE a.level = 'micro_grid' GROUP BY a.path HAVING count(e.id) BETWEEN 1 AND 5 "
            "ORDER BY a.path LIMIT 1"), {"s": start, "t": end}).one()
        tiny = compute_kpis(conn, grid.path, "month", WORLD_NOW)
        community = conn.execute(text("SELECT path FROM area WHERE level='community' ORDER BY id LIMIT 1")).scalar()
        big = compute_kpis(conn, community, "year", WORLD_NOW)
    assert tiny.total == grid.n < MIN_SAMPLE
    values = kpi_values(tiny)
    assert values["closure_rate"] == "样本不足" and values["cases_yoy"] == "样本不足"
    assert big.total >= MIN_SAMPLE and kpi_values(big)["closure_rate"].endswith("%")
