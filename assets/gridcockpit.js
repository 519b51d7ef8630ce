/* A view in the fragment (a copied link, a wall playlist entry: #area=…&metric=…) is also put in the query
   string before the page is built, so the server lays out that view from the start rather than the
   default one first (the fragment stays: in-app navigation keeps writing it). */
(function () {
    const hash = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    if (!hash.has("area") && !hash.has("metric") && !hash.has("period")) { return; }
    const query = new URLSearchParams(window.location.search);
    hash.forEach(function (value, key) { query.set(key, value); });
    window.history.replaceState(window.history.state, "", window.location.pathname + "?" + query.toString() +
                                window.location.hash);
})();

/* Grid Cockpit map functions: one namespace, referenced from Python as gridCockpit.map.<name>. */
window.gridCockpit = Object.assign({}, window.gridCockpit, {
    drawn: {},
    layers: {},
    /* Screen position (page pixels) of a lat/lng on the map that draws area `code`. */
    pointOnScreen: function (code, lat, lng) {
        const layer = window.gridCockpit.layers[code];
        if (!layer || !layer._map) { return null; }
        const map = layer._map;
        const p = map.latLngToContainerPoint([lat, lng]);
        const box = map.getContainer().getBoundingClientRect();
        const x = box.left + p.x, y = box.top + p.y;
        const hit = document.elementFromPoint(x, y);
        /* null when something (legend, panel) covers the point: callers try another point */
        return hit && hit.tagName === "CANVAS" ? {x: x, y: y} : null;
    },
    /* The Leaflet map drawing the grids (benchmarks and tests read its view and move it). */
    leafletMap: function () {
        const el = document.getElementById("cockpit-map");
        if (!el) { return null; }
        for (const code in window.gridCockpit.layers) {
            const layer = window.gridCockpit.layers[code];
            if (layer._map && layer._map.getContainer() === el) { return layer._map; }
        }
        return null;
    },
    map: {
        /* Fill a grid from hideout: categories (warning levels) or fixed numeric classes (lower bounds). */
        gridStyle: function (feature, context) {
            const h = (context && context.hideout) || {};
            const v = (h.values || {})[feature.properties.code];
            let fill = h.missing || "#394150";
            if (h.mode === "category") {
                fill = (h.colors || {})[v || "none"] || fill;
            } else if (v !== undefined && v !== null) {
                const classes = h.classes || [0];
                const colors = h.colors || [fill];
                fill = colors[0];
                for (let i = 0; i < classes.length; i++) {
                    if (v >= classes[i]) { fill = colors[i]; }
                }
            }
            return {fillColor: fill, fillOpacity: 0.9, color: "#0a1020", weight: 0.8, opacity: 0.9};
        },
        /* A finer grid drawn by map tile over the choropleth: same colours, thinner edges. */
        tileStyle: function (feature, context) {
            const style = window.gridCockpit.map.gridStyle(feature, context);
            return Object.assign(style, {weight: 0.5, fillOpacity: 0.92});
        },
        hoverStyle: function () {
            return {weight: 3, color: "#7ee0ff"};
        },
        outlineStyle: function () {
            return {fill: false, color: "#9fd3ff", weight: 1.6, opacity: 0.85};
        },
        dedicatedStyle: function () {
            return {fill: true, fillOpacity: 0.15, fillColor: "#b388ff", color: "#d0b3ff", weight: 2,
                    dashArray: "6 4"};
        },
        /* An area's value as its tooltip writes it: "1,234（件）", "89.5（%）", "红色预警", "无数据". */
        valueText: function (hideout, code) {
            const h = hideout || {};
            const v = (h.values || {})[code];
            if (h.mode === "category") {
                return (h.names || {})[v || "none"] || "无数据";
            }
            if (v === undefined || v === null) { return h.missingLabel || "无数据"; }
            const d = h.digits || 0;
            if (h.small && v > 0 && v < h.small) { return "<" + h.small + (h.unit ? "（" + h.unit + "）" : ""); }
            const text = Number(v).toLocaleString("zh-CN", {minimumFractionDigits: d, maximumFractionDigits: d});
            return h.unit ? text + "（" + h.unit + "）" : text;
        },
        /* Record each drawn feature (tests compare with the database) and add a name tooltip. */
        trackFeature: function (feature, layer) {
            const p = feature.properties || {};
            const drawn = window.gridCockpit.drawn;
            (drawn[p.level] = drawn[p.level] || new Set()).add(p.code);
            window.gridCockpit.layers[p.code] = layer;
            if (layer.bindTooltip && p.name) {
                const label = document.createElement("span");
                label.textContent = p.name;  /* text, never HTML */
                layer.bindTooltip(label, {sticky: true, className: "grid-tooltip"});
            }
        },
        /* A choropleth area: recorded, "名称：值（单位）" on hover (read from the hideout it is drawn with:
           the layer redraws its features whenever the hideout changes), and its name written on the map
           at the levels with a few dozen areas at most. */
        gridFeature: function (feature, layer, context) {
            const ns = window.gridCockpit.map;
            const p = feature.properties || {};
            ns.trackFeature(feature, layer);
            if (ns.choropleth) { ns.choropleth.push({code: p.code, level: p.level}); }
            gridCockpitMapDrawn();
            gridCockpitRedrawn();
            const hideout = (context && context.hideout) || {};
            if (layer.bindTooltip && p.name) {
                layer.bindTooltip(function () {
                    const label = document.createElement("span");
                    label.className = "grid-tooltip-text";
                    label.textContent = p.name + "：" + ns.valueText(hideout, p.code);  /* text, never HTML */
                    return label;
                }, {sticky: true, className: "grid-tooltip"});
            }
            if (p.name && ns.LABEL_LEVELS.indexOf(p.level) !== -1) { ns.areaLabel(p, layer); }
        },
        LABEL_LEVELS: ["district", "subdistrict", "community", "general_grid"],
        choropleth: [],  /* the first view's areas ({code, level}): their drill-down geometry is prefetched */
        labels: new Map(),  /* area name label shown (a Leaflet marker) → its area's layer */
        /* A centred name label of an area while the area is on the map (not for pointer events). A marker whose
           text cockpit.css centres, not a Leaflet tooltip: a tooltip measures itself as it is placed, one
           layout of the page per label while the choropleth is being drawn. */
        areaLabel: function (p, layer) {
            const ns = window.gridCockpit.map;
            let tip = null;
            layer.on("add", function () {
                const map = layer._map;
                if (!map || !layer.getCenter) { return; }
                const text = document.createElement("span");
                text.textContent = p.name;  /* text, never HTML */
                /* in the marker pane, under the hover tooltips (a marker's own z-index follows its latitude) */
                tip = L.marker(layer.getCenter(), {icon: L.divIcon({className: "area-label", html: text, iconSize: null}),
                                                   interactive: false, keyboard: false});
                tip.addTo(map);  /* styled by .area-label in cockpit.css (type scales with the screen) */
                ns.labels.set(tip, layer);
                if (!map._gridCockpitLabels) {  /* once per map: labels that no longer fit hide on zoom */
                    map._gridCockpitLabels = true;
                    map.on("zoomend", ns.fitLabels);
                }
                ns.fitLabelsSoon();
            });
            layer.on("remove", function () {
                if (tip) { ns.labels.delete(tip); tip.remove(); tip = null; }
            });
        },
        /* Show a label only when it fits inside its area's box on screen: every label measured first, then
           every one shown or hidden (one layout for all, not one per label), once per frame at most. */
        fitLabels: function () {
            const ns = window.gridCockpit.map;
            ns.fitPending = false;
            const fits = [];
            ns.labels.forEach(function (layer, tip) {
                const map = layer._map, el = tip.getElement();
                if (!map || !el) { return; }
                const b = layer.getBounds();
                const nw = map.latLngToContainerPoint(b.getNorthWest()), se = map.latLngToContainerPoint(b.getSouthEast());
                fits.push([el, el.offsetWidth <= 0.8 * (se.x - nw.x) && el.offsetHeight <= 0.6 * (se.y - nw.y)]);
            });
            fits.forEach(function (f) { f[0].style.visibility = f[1] ? "" : "hidden"; });
        },
        fitPending: false,
        fitLabelsSoon: function () {
            const ns = window.gridCockpit.map;
            if (!ns.fitPending) { ns.fitPending = true; window.requestAnimationFrame(ns.fitLabels); }
        },
        /* Record a feature of a fine tile (under "tile_<level>", apart from the choropleth's). */
        trackTileFeature: function (feature) {
            const p = feature.properties || {};
            const drawn = window.gridCockpit.drawn, key = "tile_" + p.level;
            (drawn[key] = drawn[key] || new Set()).add(p.code);
        },
        /* An event: a circle in its warning colour. */
        eventPoint: function (feature, latlng, context) {
            const colors = ((context && context.hideout) || {}).colors || {};
            const lv = feature.properties.level;
            const scale = Math.max(1, window.innerWidth / 1920);  /* markers grow with the screen, as type does */
            const m = L.circleMarker(latlng, {radius: (lv === "red" ? 7 : 5) * scale, color: "#0a1020", weight: scale,
                                              fillColor: colors[lv] || "#4895ef", fillOpacity: 0.95});
            if (feature.properties.title) {  /* wide areas send points without titles */
                const label = document.createElement("span");
                label.textContent = feature.properties.title;
                m.bindTooltip(label, {className: "grid-tooltip"});
            }
            const drawn = window.gridCockpit.drawn;
            (drawn.event = drawn.event || new Set()).add(feature.properties.id);
            return m;
        },
        /* A cluster of events: a count in a ring. */
        eventCluster: function (feature, latlng) {
            const n = feature.properties.point_count;
            const size = (n < 10 ? 26 : n < 100 ? 32 : 40) * Math.max(1, window.innerWidth / 1920);
            const icon = L.divIcon({html: "<div><span>" + Number(n) + "</span></div>",
                                    className: "event-cluster", iconSize: L.point(size, size)});
            return L.marker(latlng, {icon: icon});
        }
    }
});

/* A row of 预警 or 最新事件 opens its event: one listener for every row (data-event) writes the event into the
   open-event store (show_event in dashboard/pages/cockpit.py), instead of a pattern-matching callback that Dash
   would call again each time the rows change. */
document.addEventListener("click", function (e) {
    const row = e.target && e.target.closest ? e.target.closest(".cockpit [data-event]") : null;
    if (!row || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    const id = Number(row.getAttribute("data-event"));
    if (!Number.isInteger(id)) { return; }
    window.dash_clientside.set_props("open-event", {data: {id: id, at: Date.now()}});
});

/* Credentials without cookies for the portal iframe, and recovery when a session ends.
   On /embed the token from the URL rides on every same-origin request as X-Embed-Token (third-party
   cookies may be blocked there); the server answers with a renewed token before the old one expires.
   A callback refused with 401 means the session or device ended: reload so the server can say so. */
(function () {
    const params = new URLSearchParams(window.location.search);
    let embedToken = window.location.pathname === "/embed" ? params.get("token") : null;
    const nativeFetch = window.fetch.bind(window);
    let reloading = false;
    window.fetch = function (input, init) {
        const url = typeof input === "string" ? input : input.url;
        const sameOrigin = new URL(url, window.location.href).origin === window.location.origin;
        init = init || {};
        if (sameOrigin && embedToken) {
            const headers = new Headers(init.headers || (typeof input === "string" ? undefined : input.headers));
            headers.set("X-Embed-Token", embedToken);
            init = Object.assign({}, init, {headers: headers, credentials: "omit"});
        }
        /* The layout request names the page, so the server lays the cockpit out in it (dashboard/cockpit_first.py)
           instead of waiting for the page router's callback; the page's HTML preloads this very URL. */
        if (sameOrigin && typeof input === "string" && /\/_dash-layout$/.test(url)) {
            let search = window.location.search;  // as the browser has it: the page's HTML preloads this very URL
            const query = new URLSearchParams(search);
            if (query.has("token")) {  // an embed's token goes in its header, never into another URL (logs)
                query.delete("token");
                search = query.toString() ? "?" + query.toString() : "";
            }
            input = url + "?page=" + encodeURIComponent(window.location.pathname + search) +
                "&hash=" + encodeURIComponent(window.location.hash);
        }
        const callback = sameOrigin && url.indexOf("/_dash-update-component") !== -1 && typeof init.body === "string";
        const render = callback && init.body.indexOf("cockpit-clock") !== -1;
        const charts = callback && !render && init.body.indexOf("trend-row") !== -1;
        if (render) { gridCockpitLive.renders += 1; gridCockpitViewAsked(init.body); }
        const settled = function () { if (render) { gridCockpitRenderDone(); } };
        const ready = charts ? gridCockpitAfterRedraw() : null;
        const sent = ready ? ready.then(function () { return nativeFetch(input, init); }) : nativeFetch(input, init);
        return sent.then(function (resp) {
            settled();
            if (sameOrigin) {
                const renewed = resp.headers.get("X-Embed-Token");
                if (renewed) { embedToken = renewed; }
                if (resp.status === 401 && url.indexOf("/_dash-update-component") !== -1 && !reloading) {
                    reloading = true;
                    window.setTimeout(function () { window.location.reload(); }, 500);
                }
            }
            return resp;
        }, function (err) { settled(); throw err; });
    };
})();

/* Wall playlist: every tick, move to the next view once the current one has had its seconds. */
/* Pushed changes: read the server-sent data versions of /api/v1/changes (through fetch, so the embed
   token header rides along) and write each into the live-version store, which makes the cockpit ask for
   what changed. When the stream drops, the refresh interval carries on and the stream reconnects with
   a growing pause (1 s … 30 s; a server at its stream limit asks for 60 s). */
const gridCockpitLive = {url: null, controller: null, delay: 1000, version: null, bytes: 0, fast: null,
                         restore: null, renders: 0, pending: null};

/* A pushed version asks for a render; while one is on its way a newer version waits for it to land and
   then asks once (Dash drops a running call when its callback is triggered again, so under a stream of
   changes faster than a render the wall would otherwise never be redrawn). */
function gridCockpitAsk(version) {
    const live = gridCockpitLive;
    if (live.renders > 0) { live.pending = version; return; }
    live.pending = null;
    if (gridCockpitInStore("live-version")) {  // not once the cockpit was left (set_props would throw)
        window.dash_clientside.set_props("live-version", {data: version});
    }
}

/* Whether Dash's store holds a component (an id set_props can write: a page the router replaced has none). */
function gridCockpitInStore(id) {
    const stores = window.dash_stores || [];
    return stores.length > 0 && stores.every(function (store) {
        const paths = store.getState().paths;
        return Boolean(paths && paths.strs && paths.strs[id]);
    });
}

function gridCockpitRenderDone() {
    const live = gridCockpitLive;
    live.renders = Math.max(0, live.renders - 1);
    if (live.renders === 0 && live.pending !== null) {
        const version = live.pending;
        window.setTimeout(function () { if (live.pending === version) { gridCockpitAsk(version); } }, 0);
    }
}
/* While the change stream is open, changes arrive pushed: the refresh timer only has to move the clock-bound
   figures (overdue, today), once a minute. When the stream is down for LIVE_GRACE_MS the timer is back
   at its own interval (COCKPIT_REFRESH_SECONDS) until the stream reconnects. */
const LIVE_TICK_MS = 60000, LIVE_GRACE_MS = 3000;

function gridCockpitTimer(interval) {
    if (interval && gridCockpitInStore("cockpit-refresh")) {  // an Interval renders no element of its own
        window.dash_clientside.set_props("cockpit-refresh", {interval: interval});
    }
}

function gridCockpitReadStream(url) {
    const live = gridCockpitLive;
    const controller = new AbortController();
    live.controller = controller;
    const again = function (pause) {
        if (live.controller !== controller) { return; }  // replaced or closed meanwhile
        live.controller = null;
        if (!live.restore) {
            live.restore = window.setTimeout(function () { live.restore = null; gridCockpitTimer(live.fast); },
                                             LIVE_GRACE_MS);
        }
        window.setTimeout(function () { if (live.url === url && !live.controller) { gridCockpitReadStream(url); } },
                          pause);
        live.delay = Math.min(live.delay * 2, 30000);
    };
    window.fetch(url, {signal: controller.signal, cache: "no-store", headers: {"Accept": "text/event-stream"}})
        .then(function (resp) {
            if (resp.status === 401) { window.location.reload(); return; }  // signed out, disabled or revoked
            if (!resp.ok || !resp.body) { again(resp.status === 503 ? 60000 : live.delay); return; }
            live.delay = 1000;
            let heard = false;  // the timer slows once this stream has delivered (a buffering proxy never does)
            const reader = resp.body.getReader();
            const decoder = new TextDecoder();
            let buffer = "";
            const pump = function () {
                return reader.read().then(function (chunk) {
                    if (chunk.done) { again(250); return; }
                    live.bytes += chunk.value.length;
                    buffer += decoder.decode(chunk.value, {stream: true});
                    let cut;
                    while ((cut = buffer.indexOf("\n\n")) !== -1) {
                        const message = buffer.slice(0, cut);
                        buffer = buffer.slice(cut + 2);
                        message.split("\n").forEach(function (line) {
                            if (line.indexOf("data: ") === 0) {
                                const version = line.slice(6);
                                if (!heard) {
                                    heard = true;
                                    if (live.restore) { window.clearTimeout(live.restore); live.restore = null; }
                                    gridCockpitTimer(live.fast && Math.max(live.fast, LIVE_TICK_MS));
                                }
                                if (!document.querySelector(".cockpit")) {  // the cockpit was left
                                    live.url = null; live.controller = null; controller.abort(); return;
                                }
                                /* The stream's first version is asked for too: the page's first render ran at the same
                                   moment (or answered from the cache), so a change just before the stream connected
                                   would otherwise wait for the next one (an unchanged view answers with the clock). */
                                if (live.version === null || version !== live.version) {
                                    gridCockpitAsk(version);
                                }
                                live.version = version;
                            }
                        });
                    }
                    return pump();
                });
            };
            return pump();
        })
        .catch(function () { again(live.delay); });
}

window.dash_clientside = Object.assign({}, window.dash_clientside, {
    gridCockpit: {
        liveChanges: function (_first, _hash, url, interval) {  /* opens the stream once; later calls: no-op */
            const live = gridCockpitLive;
            if (interval && interval < LIVE_TICK_MS && !live.fast) { live.fast = interval; }
            if (url && live.url !== url) {
                if (live.controller) { live.controller.abort(); live.controller = null; }
                live.url = url;
                live.version = null;
                gridCockpitReadStream(url);
            }
            return window.dash_clientside.no_update;
        },
        kioskNext: function (_n, playlist, state) {
            if (!playlist || !playlist.length) { return window.dash_clientside.no_update; }
            const now = Date.now(), sig = JSON.stringify(playlist);
            if (!state || state.sig !== sig) {  // first tick, or an admin saved a new playlist: start it from the top
                const shown = playlist.some(function (item) { return item.view === window.location.hash; });
                if (state || !shown) { window.location.hash = playlist[0].view; }
                return {index: 0, since: now, sig: sig};
            }
            if (playlist.length < 2 || now - state.since < playlist[state.index].seconds * 1000) { return state; }
            const index = (state.index + 1) % playlist.length;
            window.location.hash = playlist[index].view;
            return {index: index, since: now, sig: sig};
        }
    }
});

/* Pager for the side panel's lists on a single-screen layout: a list shows the rows that fit whole and
   turns to its next page every PAGE_MS (a wall has nobody to scroll). Lists that are not height-bound
   (the laptop layout scrolls) show every row. The heading of a paged list says "第 x/y 页". When a new event
   tops a list (最新事件, 预警), the list turns back to its first page at once and stays there a full PAGE_MS:
   a gas leak pushed to the wall must not wait on a hidden page until the pager comes round (up to ~20 s). */
(function () {
    const PAGE_MS = 8000;
    const state = new WeakMap();
    function layout(list) {
        const rows = Array.from(list.children);
        rows.forEach(function (r) { r.classList.remove("paged-out"); });
        const s = state.get(list) || {page: 0, turned: Date.now(), signature: "", head: null};
        const first = rows.length ? rows[0].querySelector("[data-event]") : null;
        const head = first ? first.getAttribute("data-event") : null;
        if (head !== s.head) {
            if (s.head !== null && head !== null) { s.page = 0; s.turned = Date.now(); }
            s.head = head;
        }
        const heading = list.previousElementSibling && list.previousElementSibling.tagName === "H2"
            ? list.previousElementSibling : null;
        const note = heading && heading.querySelector(".page-note");
        if (list.scrollHeight <= list.clientHeight + 1 || rows.length < 2) {
            list.classList.remove("paged");
            if (note) { note.remove(); }
            state.set(list, s);
            return;
        }
        /* pages: consecutive rows whose bottoms fit in the box */
        const top = list.getBoundingClientRect().top, height = list.clientHeight;
        const pages = [];
        let start = 0;
        rows.forEach(function (r, i) {
            const box = r.getBoundingClientRect();
            const pageTop = rows[start].getBoundingClientRect().top - top;
            if (box.bottom - top - pageTop > height && i > start) { pages.push([start, i]); start = i; }
        });
        pages.push([start, rows.length]);
        const signature = rows.length + ":" + pages.length;
        if (s.signature !== signature) { s.signature = signature; s.page = Math.min(s.page, pages.length - 1); }
        if (Date.now() - s.turned >= PAGE_MS) { s.page = (s.page + 1) % pages.length; s.turned = Date.now(); }
        const [from, to] = pages[s.page];
        rows.forEach(function (r, i) { if (i < from || i >= to) { r.classList.add("paged-out"); } });
        list.classList.add("paged");
        if (heading) {
            const el = note || heading.appendChild(document.createElement("span"));
            el.className = "page-note";
            el.textContent = "第 " + (s.page + 1) + "/" + pages.length + " 页";
        }
        state.set(list, s);
    }
    function tick() {
        document.querySelectorAll(".side-panel > ul").forEach(layout);
    }
    window.setInterval(tick, 1000);
    window.addEventListener("resize", tick);
})();

/* On a page that scrolls (laptops) the mouse wheel scrolls the page: the map zooms by wheel only after
   a click on it (until the pointer leaves) or with Ctrl held, as web maps do. The wall keeps wheel zoom off. */
(function () {
    function attach() {
        const map = window.gridCockpit && window.gridCockpit.leafletMap && window.gridCockpit.leafletMap();
        if (!map || map._gridWheel) { return; }
        map._gridWheel = true;
        const container = map.getContainer();
        const scrolls = function () {  /* the page, or any box around the map, scrolls vertically */
            for (let el = container.parentElement; el; el = el.parentElement) {
                const y = el === document.documentElement ? "auto" : window.getComputedStyle(el).overflowY;
                if ((y === "auto" || y === "scroll") && el.scrollHeight > el.clientHeight + 1) { return true; }
            }
            return document.documentElement.scrollHeight > window.innerHeight + 1;
        };
        map.scrollWheelZoom.disable();
        if (!scrolls()) { map.scrollWheelZoom.enable(); }
        container.addEventListener("click", function () { map.scrollWheelZoom.enable(); });
        container.addEventListener("mouseleave", function () { if (scrolls()) { map.scrollWheelZoom.disable(); } });
        container.addEventListener("wheel", function (e) {
            if (e.ctrlKey && !map.scrollWheelZoom.enabled()) {
                e.preventDefault();
                map.setZoom(map.getZoom() + (e.deltaY < 0 ? 0.5 : -0.5));
            }
        }, {passive: false});
    }
    window.setInterval(attach, 1000);
})();

/* Charts and markers scale with the screen: plotly draws text in pixels, so on a 4K wall its fonts are
   enlarged by the ratio of the screen width to 1920 (as the page's own type is). */
(function () {
    function scaleCharts() {
        const scale = Math.max(1, window.innerWidth / 1920);
        document.querySelectorAll("#trend-row .js-plotly-plot").forEach(function (gd) {
            const layout = gd.layout;
            if (!window.Plotly || !layout || !layout.font || scale === 1) { return; }
            const base = layout.font.size || 11;
            if (layout.meta && layout.meta.gridScale) { return; }  // scaled already (a new figure comes without)
            const margin = layout.margin || {};
            const update = {"font.size": base * scale, "meta": {gridScale: scale}};
            if (layout.title && layout.title.font && layout.title.font.size) {
                update["title.font.size"] = layout.title.font.size * scale;
            }
            if (layout.legend && layout.legend.font && layout.legend.font.size) {
                update["legend.font.size"] = layout.legend.font.size * scale;
            }
            ["l", "r", "t", "b"].forEach(function (k) { if (margin[k] !== undefined) { update["margin." + k] = margin[k] * scale; } });
            window.Plotly.relayout(gd, update);
        });
    }
    window.setInterval(scaleCharts, 1000);
})();

/* Ages in the warnings panel ("刚刚", "3 分钟前", "5 小时前", "12 天前") from each row's data-at, kept
   current here, so the server's text for the panel does not change every minute. */
(function () {
    function age(ms) {
        const s = Math.max(0, ms / 1000);
        if (s < 60) { return "刚刚"; }
        if (s < 3600) { return Math.floor(s / 60) + " 分钟前"; }
        if (s < 86400) { return Math.floor(s / 3600) + " 小时前"; }
        return Math.floor(s / 86400) + " 天前";
    }
    function tick() {
        const now = Date.now();
        document.querySelectorAll(".warn-age[data-at]").forEach(function (el) {
            const text = age(now - Number(el.getAttribute("data-at")));
            if (el.textContent !== text) { el.textContent = text; }
        });
    }
    window.setInterval(tick, 1000);
})();

/* An action button (派单, 改派, 核查办结 …) works once: it is disabled right after its click, so a double
   click cannot send a second request that overtakes the first (Dash keeps only the newest answer, and the
   first one carries the task link, shown once). The redrawn event card brings fresh buttons. */
document.addEventListener("click", function (e) {
    const button = e.target && e.target.closest &&
        e.target.closest(".event-card .suggestion button, .event-card .step-buttons button, .event-card .visit button");
    if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
}, true);
