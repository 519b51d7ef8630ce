"""The portal iframe (/embed?token=…): the cockpit compacted to the panels and area its token grants."""
from __future__ import annotations

import dash

dash.register_page(__name__, path="/embed", title="网格驾驶舱（嵌入）", name="嵌入视图")
ACCESS = "view_cockpit"  # the signed token (checked on every request, no cookies) is the credential


def layout(**query):
    """The cockpit page's own layout (and so its callbacks); the embed principal decides panels, scope, chrome."""
    cockpit = next(page for page in dash.page_registry.values() if page["path"] == "/")
    return cockpit["layout"](**query)
