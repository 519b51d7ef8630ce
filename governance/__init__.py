"""Domain core of Grid Cockpit: area hierarchy, event model, workflow, KPIs."""
