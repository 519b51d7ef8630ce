"""Handling events: dispatch, the five steps' actions, 吹哨报到 and departments, 核实, drills, photos, search and reads."""
