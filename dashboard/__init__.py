"""Dash application: pages, components and callbacks of the cockpit."""
