/* Grid Cockpit map functions: one namespace, referenced from Python as gridCockpit.map.<name>. */
window.gridCockpit = Object.assign({}, window.gridCockpit, {
    drawn: {},
    map: {
        /* Fill a grid from hideout.values[code] using hideout.classes (lower bounds) / colors. */
        gridStyle: function (feature, context) {
            const h = (context && context.hideout) || {};
            const v = (h.values || {})[feature.properties.code] || 0;
            const classes = h.classes || [0];
            const colors = h.colors || ["#1c2b45"];
            let fill = colors[0];
            for (let i = 0; i < classes.length; i++) {
                if (v >= classes[i]) { fill = colors[i]; }
            }
            return {fillColor: fill, fillOpacity: 0.88, color: "#0a1020", weight: 0.5, opacity: 0.9};
        },
        hoverStyle: function () {
            return {weight: 2.5, color: "#7ee0ff"};
        },
        outlineStyle: function () {
            return {fill: false, color: "#9fd3ff", weight: 1.6, opacity: 0.85};
        },
        /* Record each drawn feature (tests compare with the database) and add a name tooltip. */
        trackFeature: function (feature, layer) {
            const p = feature.properties || {};
            const drawn = window.gridCockpit.drawn;
            (drawn[p.level] = drawn[p.level] || new Set()).add(p.code);
            if (layer.bindTooltip && p.name) {
                const label = document.createElement("span");
                label.textContent = p.name;  /* text, never HTML */
                layer.bindTooltip(label, {sticky: true, className: "grid-tooltip"});
            }
        }
    }
});
