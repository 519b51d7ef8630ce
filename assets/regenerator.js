/* What Dash's bundles need of @babel/polyfill, which the page no longer loads (dashboard/cockpit_first.py,
   first_scripts): evaluating its core-js took 60–90 ms of every first render, for features every browser the
   cockpit supports has built in. The one thing they still use is the global `regeneratorRuntime`, in the
   helper that marks a lazily loaded component ready (dash-renderer, dcc and dash_table bundles alike): a
   generator compiled to a state machine over a context (prev, next, sent, stop, abrupt). This runs such
   machines; anything else a future bundle asks of it (try/catch locations, delegated yields) fails loudly. */
(function () {
    if (window.regeneratorRuntime) { return; }
    const CONTINUE = {};
    function unsupported(name) {
        return function () { throw new Error("regeneratorRuntime." + name + " is not provided (assets/regenerator.js)"); };
    }
    function context() {
        return {
            prev: 0, next: 0, sent: undefined, done: false, rval: undefined,
            stop: function () { this.done = true; return this.rval; },
            abrupt: function (type, arg) {
                if (type !== "return") { throw new Error("regeneratorRuntime: abrupt " + type + " is not provided"); }
                this.rval = arg;
                this.next = "end";
                return CONTINUE;
            },
            catch: unsupported("catch"), finish: unsupported("finish"), delegateYield: unsupported("delegateYield")
        };
    }
    window.regeneratorRuntime = {
        mark: function (fn) { return fn; },
        wrap: function (inner, outer, self) {
            const ctx = context();
            const step = function (sent) {
                if (ctx.done) { return {value: undefined, done: true}; }
                ctx.sent = sent;
                for (;;) {
                    const value = inner.call(self, ctx);
                    if (value === CONTINUE) { continue; }
                    return {value: value, done: ctx.done};
                }
            };
            const it = {
                next: step,
                throw: function (err) { ctx.done = true; throw err; },
                return: function (value) { ctx.done = true; return {value: value, done: true}; }
            };
            it[Symbol.iterator] = function () { return it; };
            return it;
        }
    };
})();
