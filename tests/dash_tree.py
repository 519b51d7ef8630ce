"""Walk a Dash component tree in tests (pure Python: no browser)."""
from __future__ import annotations


def find_class(component, class_name: str) -> list:
    """Components under `component` (a Dash tree or list) carrying `class_name`."""
    found, stack = [], [component]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
        elif node is not None and hasattr(node, "children"):
            if class_name in (getattr(node, "className", "") or "").split():
                found.append(node)
            stack.append(node.children)
    return found
