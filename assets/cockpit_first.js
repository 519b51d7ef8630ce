/* The cockpit's first render (see dashboard/cockpit_first.py): the side panel's lists wait for the polygons,
   and the first view's drill-down geometry is fetched ahead. Used by assets/gridcockpit.js (gridFeature and the
   fetch wrapper); loaded before it (assets load in name order). */

/* The page's first render callback (render in dashboard/pages/cockpit.py, which the layout left without the side
   panel's lists and the outline) is asked for by writing the first-drawn store once the choropleth is drawn, or
   FIRST_WAIT_MS after the cockpit is on the page when its map is hidden or does not draw: Dash's own work for that
   call (a render with twenty outputs) would otherwise run between React's first pass and the polygons. */
const gridCockpitFirst = {drawn: false, sent: false, track: null};
const FIRST_WAIT_MS = 1000;

function gridCockpitFirstDrawn() {
    const first = gridCockpitFirst;
    if (first.sent || !window.dash_clientside || !window.dash_clientside.set_props ||
        !document.querySelector(".cockpit")) { return; }  /* the store is the cockpit's */
    first.sent = true;
    window.dash_clientside.set_props("first-drawn", {data: Date.now()});
}

/* The cockpit map's view, written into its component's props (center, zoom, bounds: the fine tiles' callback
   follows them) once a choropleth has been drawn on it, and after each move; once per map (the page router
   builds a new one when the cockpit is opened again). Replaces dash-leaflet's own tracking (trackViewport),
   whose report of the map's first move came between React's first pass and the polygons. */
function gridCockpitTrackViewport() {
    const map = window.gridCockpit && window.gridCockpit.leafletMap && window.gridCockpit.leafletMap();
    if (!map || map.gridCockpitTracked || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    map.gridCockpitTracked = true;
    const report = function () {
        if (!map.getContainer().isConnected) { return; }
        const c = map.getCenter(), b = map.getBounds();
        window.dash_clientside.set_props("cockpit-map", {
            zoom: map.getZoom(), center: [c.lat, c.lng],
            bounds: [[b.getSouth(), b.getWest()], [b.getNorth(), b.getEast()]]});
    };
    map.on("moveend", report);
    report();
}

function gridCockpitMapDrawn() {
    const first = gridCockpitFirst;
    if (first.drawn) {  /* a later draw (once first-drawn is written), maybe on a map the page router built anew */
        if (first.sent && !first.track) {
            first.track = window.setTimeout(function () { first.track = null; gridCockpitTrackViewport(); }, 0);
        }
        return;
    }
    first.drawn = true;
    /* after the next paint: the polygons are on screen before Dash starts on the call */
    window.requestAnimationFrame(function () {
        window.setTimeout(function () { gridCockpitFirstDrawn(); gridCockpitTrackViewport(); }, 0);
    });
    window.setTimeout(gridCockpitPrefetch, PREFETCH_AFTER_MS);
}

document.addEventListener("DOMContentLoaded", function () {
    let looks = 0;
    const look = function () {  /* for the cockpit laid out by this page load (a few seconds at most) */
        if (document.querySelector(".cockpit")) {
            window.setTimeout(gridCockpitFirstDrawn, document.querySelector(".map-panel.hidden") ? 0 : FIRST_WAIT_MS);
        } else if (++looks < 100) {
            window.setTimeout(look, 50);
        }
    };
    look();
});

/* Once the first view is up, the geometry a click on one of its areas opens (the area's children and its
   outline) is fetched into the browser's cache (geometry is cacheable for 5 minutes), so a drill-down waits
   for its figures only. Only for a few dozen areas (communities and above). */
const PREFETCH_AFTER_MS = 300, PREFETCH_MAX = 40;
const CHILD_LEVEL = {city: "district", district: "subdistrict", subdistrict: "community", community: "general_grid"};

function gridCockpitPrefetch() {
    const seen = window.gridCockpit.map.choropleth || [];
    window.gridCockpit.map.choropleth = null;  /* the first view's only */
    if (seen.length > PREFETCH_MAX) { return; }
    seen.forEach(function (p) {
        const child = CHILD_LEVEL[p.level];
        if (!child || !/^[0-9A-Za-z-]+$/.test(p.code)) { return; }
        [child, p.level].forEach(function (level) {
            window.fetch("/api/v1/geo/" + p.code + "/" + level + ".pbf").catch(function () { return null; });
        });
    });
}

/* The map first, after a view change too: once the map is asked for another area (a click on the map, a link
   or back/forward, a playlist step: the render request's trigger is grid-layer.n_clicks or url.hash), the
   trend charts wait until the new area's choropleth is drawn (at most CHARTS_WAIT_MS). Plotly drawing three
   charts would otherwise hold the page while the new grids wait (A/B probe: drill-down p50 ~50 ms slower). */
const gridCockpitRedraw = {pending: false, waiting: []};
const CHARTS_WAIT_MS = 800;

function gridCockpitViewAsked(body) {
    if (/"changedPropIds":\[[^\]]*"(grid-layer\.n_clicks|url\.hash)"/.test(body)) {
        gridCockpitRedraw.pending = true;
    }
}

function gridCockpitRedrawn() {
    const r = gridCockpitRedraw;
    if (!r.pending) { return; }
    r.pending = false;
    window.setTimeout(function () { r.waiting.splice(0).forEach(function (go) { go(); }); }, 0);
}

function gridCockpitAfterRedraw() {
    const r = gridCockpitRedraw;
    if (!r.pending) { return null; }
    return new Promise(function (go) {
        r.waiting.push(go);
        window.setTimeout(function () { r.pending = false; go(); }, CHARTS_WAIT_MS);
    });
}

/* dash-leaflet's GeoJSON layer is a React.lazy component: however early its chunk has run (see
   dashboard/cockpit_first.py, MAP_CHUNKS), React suspends on it at its first render, draws the map without it,
   and renders it again once the lazy promise settles (a pass of ~50 ms before the choropleth's geometry is
   asked for). Rendering one, detached and at once unmounted, as this script loads settles that promise before
   Dash's layout arrives, so the layout's first pass renders the choropleth. Only a head start: nothing else
   depends on it. */
(function gridCockpitSettleGeoJSON() {
    const React = window.React, ReactDOM = window.ReactDOM, leaflet = window.dash_leaflet;
    if (!React || !ReactDOM || !ReactDOM.createRoot || !ReactDOM.flushSync || !leaflet || !leaflet.GeoJSON) {
        return;
    }
    try {
        const root = ReactDOM.createRoot(document.createElement("div"));
        ReactDOM.flushSync(function () { root.render(React.createElement(leaflet.GeoJSON, {})); });
        root.unmount();
    } catch (e) { /* the layout's pass then suspends on it, as before */ }
})();
