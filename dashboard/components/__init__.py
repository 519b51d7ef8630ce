"""Reusable pieces of the cockpit screens, each a pure function from data to Dash components."""
