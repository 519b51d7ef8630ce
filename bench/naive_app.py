"""The obvious alternatives a Dash user would write, for comparison: plotly or inline leaflet.

python -m bench.naive_app {plotly|leaflet|floor} PORT DATABASE_URL — serves every micro-grid of the
focus sub-district coloured by open events, from full GeoJSON built on each page load ("floor": an
empty Dash page with one callback, the least a Dash page costs to appear).
"""
from __future__ import annotations

import json
import sys

import dash
import dash_leaflet as dl
import plotly.express as px
from dash import dcc, html
from sqlalchemy import text

from governance.core.db import make_engine


def micro_grids(engine):
    """Full GeoJSON of the focus sub-district's micro-grids and their open-event counts."""
    with engine.connect() as conn:
        focus = conn.execute(text("SELECT value FROM world_info WHERE key='focus_code'")).scalar()
        path = conn.execute(text("SELECT path FROM area WHERE code=:c"), {"c": focus}).scalar()
        rows = conn.execute(text("SELECT code, name, geometry FROM area WHERE level='micro_grid' "
                                 "AND path LIKE :p"), {"p": path + "%"}).all()
        counts = dict(conn.execute(text(
            "SELECT a.code, COUNT(e.id) FROM area a LEFT JOIN event e ON e.area_id = a.id AND e.status "
            "IN ('collect','discover','assign','handle','feedback') WHERE a.level='micro_grid' "
            "AND a.path LIKE :p GROUP BY a.code"), {"p": path + "%"}).all())
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": r.code, "properties": {"code": r.code, "name": r.name,
                                                          "open": counts.get(r.code, 0)},
         "geometry": json.loads(r.geometry)} for r in rows]}
    return fc, counts


def build(kind: str, engine) -> dash.Dash:
    """A one-page Dash app drawing the micro-grids the naive way ("floor": no map, one callback)."""
    app = dash.Dash(__name__, update_title=None)
    if kind == "floor":  # the least any Dash page costs: load Dash, fetch the layout, run one callback
        app.layout = html.Div([html.Div("x", id="floor-in"), html.Div(id="floor-out")])
        app.callback(dash.Output("floor-out", "children"), dash.Input("floor-in", "children"))(lambda _x: "ready")
        return app

    def layout():
        fc, counts = micro_grids(engine)
        first = fc["features"][0]["geometry"]["coordinates"][0][0]
        first = first[0] if isinstance(first[0], list) else first
        if kind == "plotly":
            codes = [f["id"] for f in fc["features"]]
            fig = px.choropleth_map(geojson=fc, locations=codes, color=[counts.get(c, 0) for c in codes],
                                    map_style="white-bg", zoom=12, opacity=0.8,
                                    center={"lat": first[1], "lon": first[0]})
            return html.Div([dcc.Graph(id="map", figure=fig, style={"height": "95vh"})])
        return html.Div([dl.MapContainer(children=[dl.GeoJSON(id="map", data=fc, zoomToBounds=True)],
                                         center=[first[1], first[0]], zoom=13, style={"height": "95vh"})])

    app.layout = layout
    return app


if __name__ == "__main__":
    kind, port, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    build(kind, make_engine(url)).run(host="127.0.0.1", port=port, debug=False)
