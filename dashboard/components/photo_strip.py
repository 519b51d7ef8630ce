"""The photos workers took for an event, as thumbnails linking to the full image (scope-checked routes)."""
from __future__ import annotations

from datetime import datetime

from dash import html

from governance.events import photos
from governance.core.timeutil import format_when


def photo_strip(detail: dict, now: datetime):
    """A row of thumbnails with who took each and when (None when the event has no photos)."""
    shots = detail.get("photos") or []
    if not shots:
        return None
    return html.Div([html.H4(f"现场照片（{len(shots)}）"), html.Div(className="detail-photos", children=[
        html.A(html.Img(src=photos.url(p["id"], thumb=True), alt=f"现场照片 #{p['id']}",
                        title=f"{p['uploaded_by']} · {format_when(p['uploaded_at'], now)}"),
               href=photos.url(p["id"]), target="_blank", rel="noopener")
        for p in shots])])
