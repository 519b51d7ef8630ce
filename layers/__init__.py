"""Map layers built with dash-leaflet; their JS style functions live in assets/gridcockpit.js."""
from dash_extensions.javascript import Namespace

# Every JS function the layers use lives under window.gridCockpit.map (assets/gridcockpit.js).
MAP_JS = Namespace("gridCockpit", "map")
