/* The worker's phone page: every tap (签收, 记录进展 with a note and/or a photo, 提交结果) is kept in
 * IndexedDB first and sent to /api/v1/worker/actions in order when there is signal, each under a
 * request id made on the phone, so a resend never applies twice (the server keeps the first answer).
 * A bar shows how many are 待发送. Only pages with .queue-page (dashboard/pages/worker.py) use it. */
(function () {
    "use strict";
    var DB = "gridcockpit-worker", STORE = "queue", RETRY_MS = 15000;
    var flushing = false;

    function page() { return document.querySelector(".queue-page"); }

    function openDb() {
        return new Promise(function (resolve, reject) {
            var req = indexedDB.open(DB, 1);
            req.onupgradeneeded = function () { req.result.createObjectStore(STORE, {keyPath: "seq", autoIncrement: true}); };
            req.onsuccess = function () { resolve(req.result); };
            req.onerror = function () { reject(req.error); };
        });
    }

    function tx(mode, work) {
        return openDb().then(function (db) {
            return new Promise(function (resolve, reject) {
                var t = db.transaction(STORE, mode), out = work(t.objectStore(STORE));
                t.oncomplete = function () { db.close(); resolve(out && out.result !== undefined ? out.result : out); };
                t.onerror = function () { db.close(); reject(t.error); };
            });
        });
    }

    function all() { return tx("readonly", function (s) { return s.getAll(); }); }
    function add(item) { return tx("readwrite", function (s) { return s.add(item); }); }
    function drop(seq) { return tx("readwrite", function (s) { return s.delete(seq); }); }

    function requestId() {
        var bytes = new Uint8Array(16);
        crypto.getRandomValues(bytes);  // available without HTTPS, unlike crypto.randomUUID
        return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }

    function cookie(name) {
        var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
        return m ? decodeURIComponent(m[1]) : "";
    }

    function size(n) {  // as governance/photos.py writes it: "2.5 MB", or "640 KB" below a megabyte
        return n < 1048576 ? Math.ceil(n / 1024) + " KB" : (Math.round(n / 1048576 * 10) / 10).toString() + " MB";
    }

    function setProps(id, props) {  // a task no longer on this page (another link's) is skipped
        try {
            if (window.dash_clientside && window.dash_clientside.set_props) { window.dash_clientside.set_props(id, props); }
        } catch (e) { /* nothing to update */ }
    }

    function say(eventId, text, ok) {
        setProps({type: "w-msg", event: Number(eventId)}, {children: text, className: "dispatch-msg " + (ok ? "ok" : "error")});
    }

    function bar() {
        var el = document.getElementById("w-queue-bar");
        if (!page()) { if (el) { el.remove(); } return null; }
        if (!el) {
            el = document.createElement("div");
            el.id = "w-queue-bar";
            el.setAttribute("role", "status");
            document.body.appendChild(el);
        }
        return el;
    }

    function showCount() {
        return all().then(function (items) {
            var el = bar();
            if (!el) { return; }
            el.className = items.length ? "pending" : "clear";
            el.textContent = items.length
                ? "待发送 " + items.length + " 条" + (navigator.onLine ? "（发送中…）" : "（无信号，有信号后自动发送）")
                : (navigator.onLine ? "已全部发送" : "无信号：操作会先保存在手机上");
            el.dataset.pending = String(items.length);
        });
    }

    function photoError(file, max) {
        if (!file) { return null; }
        if (!/^image\//.test(file.type || "")) { return "只能上传照片（JPEG、PNG 或 WebP 图片），该文件未保存"; }
        if (file.size > max) { return "照片过大（" + size(file.size) + "，上限 " + size(max) + "），未保存"; }
        return null;
    }

    function send(item) {
        if (item.type === "visit") { return sendVisit(item); }
        var body = new FormData();
        body.append("request_id", item.requestId);
        body.append("event_id", String(item.event));
        body.append("kind", item.kind);
        body.append("note", item.note || "");
        if (item.photo) { body.append("photo", item.photo, item.photoName || "photo.jpg"); }
        var headers = {"X-Task-Credential": item.credential, "X-Request-Id": item.requestId,
                       "X-Event-Id": String(item.event)};
        if (cookie("_csrf_token")) { headers["X-CSRFToken"] = cookie("_csrf_token"); }
        return fetch("/api/v1/worker/actions", {method: "POST", body: body, headers: headers, credentials: "same-origin"})
            .then(function (resp) {
                return resp.json().catch(function () { return {}; }).then(function (data) {
                    return {status: resp.status, data: data};
                });
            });
    }

    function delivered(item, answer) {
        if (item.type === "visit") { return visitDelivered(item, answer); }
        var ok = answer.status === 200;
        say(item.event, ok ? answer.data.message : (answer.data.error || "操作未完成"), ok);
        if (!ok && item.note) {  // refused: the typed note comes back to its field, nothing is lost
            setProps({type: "w-note", event: Number(item.event)}, {value: item.note});
        }
        if (ok && item.kind === "feedback") {
            setProps({type: "w-task", event: Number(item.event)}, {children: "结果已提交，等待指挥中心核查"});
        } else if (ok) {
            setProps({type: "w-sent", event: Number(item.event)}, {data: Date.now()});
        }
    }

    function flush() {
        if (flushing || !navigator.onLine) { return showCount(); }
        flushing = true;
        function next() {
            return all().then(function (items) {
                if (!items.length) { return null; }
                var item = items[0];
                return send(item).then(function (answer) {
                    if (answer.status >= 500 || answer.status === 0 || answer.status === 429) { return null; }  // later
                    return drop(item.seq).then(function () { delivered(item, answer); return next(); });
                }, function () { return null; });  // no signal after all: keep it, try later
            });
        }
        return next().then(function () { flushing = false; return showCount(); },
                           function () { flushing = false; return showCount(); });
    }

    function enqueue(button) {
        var root = page(), eventId = button.dataset.event, kind = button.dataset.kind;
        var card = button.closest("section.task");
        var note = card && card.querySelector("textarea.w-note");
        var input = card && card.querySelector("input.w-photo-input");
        var file = input && input.files && input.files[0];
        var max = Number(root.dataset.photoMax || 0);
        var bad = photoError(file, max);
        if (bad) { say(eventId, bad, false); return; }
        if (kind === "progress" && !file && !(note && note.value.trim())) {
            say(eventId, "请填写处置说明或拍摄照片", false);
            return;
        }
        button.disabled = true;  // a double tap queues one action
        add({requestId: requestId(), credential: root.dataset.credential, event: Number(eventId), kind: kind,
             note: note ? note.value : "", photo: file || null, photoName: file ? file.name : null,
             at: new Date().toISOString()}).then(function () {
            if (note) { note.value = ""; setProps({type: "w-note", event: Number(eventId)}, {value: ""}); }
            if (input) { input.value = ""; preview(input); }
            say(eventId, navigator.onLine ? "发送中…" : "已保存在手机上，待发送：有信号后自动发送", true);
            setTimeout(function () { button.disabled = false; }, 800);
            return flush();
        });
    }

    /* 关爱走访 (dashboard/components/visit_card.py): a visit is queued like a task action and sent once to
     * /api/v1/worker/visits (a resend of a recorded visit is answered "走访已记录" and changes nothing). */
    function sendVisit(item) {
        var body = new FormData();
        body.append("request_id", item.requestId);
        body.append("visit_id", String(item.visit));
        body.append("visited_at", item.visitedAt || item.at || "");  // no time entered: when it was queued here
        body.append("note", item.note || "");
        body.append("needs", item.needs || "");
        if (item.report) {
            body.append("report", "1");
            body.append("report_text", item.reportText || "");
            body.append("category", item.category || "");
        }
        var headers = {"X-Request-Id": item.requestId};
        if (cookie("_csrf_token")) { headers["X-CSRFToken"] = cookie("_csrf_token"); }
        return fetch("/api/v1/worker/visits", {method: "POST", body: body, headers: headers, credentials: "same-origin"})
            .then(function (resp) {
                return resp.json().catch(function () { return {}; }).then(function (data) {
                    return {status: resp.status, data: data};
                });
            });
    }

    function visitDelivered(item, answer) {
        var ok = answer.status === 200, id = Number(item.visit);
        setProps({type: "v-msg", visit: id}, {children: ok ? answer.data.message : (answer.data.error || "走访未记录"),
                                             className: "dispatch-msg " + (ok ? "ok" : "error")});
        if (ok) {
            setProps({type: "v-task", visit: id}, {children: "走访已记录，感谢你的关爱走访"});
        } else if (!answer.data.recorded) {  // refused: what was typed comes back, nothing is lost
            setProps({type: "v-note", visit: id}, {value: item.note});
            setProps({type: "v-needs", visit: id}, {value: item.needs});
            if (item.visitedAt) { setProps({type: "v-when", visit: id}, {value: item.visitedAt}); }
            var button = document.querySelector('.queue-page button.w-visit[data-visit="' + id + '"]');
            if (button) { button.disabled = false; }  // corrected, it can be sent again
        }
    }

    function enqueueVisit(button) {
        var card = button.closest("section.task"), id = button.dataset.visit;
        function field(cls) { var el = card.querySelector(cls); return el ? el.value : ""; }
        var note = field("textarea.v-note"), details = card.querySelector("details.v-report");
        var report = !!(details && details.open && field("textarea.v-report-text").trim());
        if (!note.trim()) {
            setProps({type: "v-msg", visit: Number(id)}, {children: "请填写走访情况", className: "dispatch-msg error"});
            return;
        }
        button.disabled = true;
        add({type: "visit", requestId: requestId(), visit: Number(id), visitedAt: field(".v-when input, input.v-when"), note: note,
             needs: field("textarea.v-needs"), report: report, reportText: field("textarea.v-report-text"),
             category: field("select.v-category"), at: new Date().toISOString()}).then(function () {
            setProps({type: "v-msg", visit: Number(id)}, {className: "dispatch-msg ok",
                children: navigator.onLine ? "发送中…" : "已保存在手机上，待发送：有信号后自动发送"});
            return flush();
        });
    }

    function preview(input) {
        var slot = input.closest(".w-photo-slot"), img = slot.querySelector("img.w-preview");
        var file = input.files && input.files[0];
        var bad = photoError(file, Number((page() || {dataset: {}}).dataset.photoMax || 0));
        var err = slot.querySelector(".w-photo-error");
        err.textContent = bad || "";
        if (bad) { input.value = ""; file = null; }
        if (img.src) { URL.revokeObjectURL(img.src); img.removeAttribute("src"); }
        img.hidden = !file;
        if (file) { img.src = URL.createObjectURL(file); }
    }

    function fillSlots() {
        document.querySelectorAll(".w-photo-slot:not([data-ready])").forEach(function (slot) {
            slot.dataset.ready = "1";
            var label = document.createElement("label");
            label.className = "action-button photo-button";
            label.textContent = "拍照 / 选择照片";
            var input = document.createElement("input");
            input.type = "file";
            input.accept = "image/*";
            input.setAttribute("capture", "environment");
            input.className = "w-photo-input";
            label.appendChild(input);
            var img = document.createElement("img");
            img.className = "w-preview";
            img.alt = "待发送的照片";
            img.hidden = true;
            var err = document.createElement("p");
            err.className = "w-photo-error dispatch-msg error";
            slot.append(label, img, err);
        });
    }

    document.addEventListener("click", function (e) {
        var button = e.target.closest && e.target.closest(".queue-page button.w-act");
        if (button && !button.disabled) { e.preventDefault(); enqueue(button); }
        var visit = e.target.closest && e.target.closest(".queue-page button.w-visit");
        if (visit && !visit.disabled) { e.preventDefault(); enqueueVisit(visit); }
    });
    document.addEventListener("change", function (e) {
        if (e.target.classList && e.target.classList.contains("w-photo-input")) { preview(e.target); }
    });
    window.addEventListener("online", flush);
    window.addEventListener("offline", showCount);
    setInterval(function () { if (page()) { flush(); } }, RETRY_MS);
    new MutationObserver(function () {
        if (page()) { fillSlots(); if (!document.getElementById("w-queue-bar")) { flush(); } }
        else { bar(); }
    }).observe(document.documentElement, {childList: true, subtree: true});
})();
