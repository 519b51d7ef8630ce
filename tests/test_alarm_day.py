"""Issue #18 "Done when": the demo world through 24 simulated hours (feeds at their profile, the scheduler's
jobs, one controlled clock) meets the alarm-management figures; the table is printed (`pytest -s`)."""
from data_sources.alarm_day import day_table, simulate_day

from .conftest import WORLD_NOW


def test_a_simulated_day_meets_the_alarm_targets(engine, tmp_path):
    f = simulate_day(engine, WORLD_NOW, tmp_path / "drop", hours=24, step_minutes=10, seed=3)
    table = day_table(f)
    width = max(len(r[0]) for r in table)
    print("\n24 simulated hours (street scale, seed 7):")
    for name, value, target, ok in table:
        print(f"  {name:<{width}}  {value:>22}  target {target:<10} {ok}")
    assert 60 <= f.new_events <= 200, "a street's normal day, not a flood of feeds"
    assert 0.05 <= f.overdue_share <= 0.15, f.overdue_share
    assert f.red_share <= 0.05 and f.orange_share <= 0.15, (f.red_share, f.orange_share)
    assert f.red_share_max <= 0.05 and f.orange_share_max <= 0.15
    assert f.high_per_community_hour <= 6
    assert f.windows > 0
    assert f.flood_windows / f.windows <= 0.01
    local = sum(n for lv, n in f.closed_levels.items() if lv in ("grid", "community"))
    assert f.closed > 0 and local / f.closed > 0.5, f.closed_levels   # most closed at 网格/社区
    assert f.red_by_one_grid == 0
    assert f.escalated < f.open_events * 0.1, "escalations spread over time, not all stamped at start"
    assert all(row[3] == "✓" for row in table)
