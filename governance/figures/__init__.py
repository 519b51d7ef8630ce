"""The numbers: rollups, per-scope sums, KPIs and trends."""
