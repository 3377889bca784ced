// ===== Executions list: live rows, hold, bulk ticks and the stop dialog (issues 9 and 19) =====
// Loaded after app.js on every page; each block checks for its own elements. No inline scripts, no eval.
(function () {
  "use strict";

  function rowsBody() { return document.getElementById("execution-rows"); }
  function tickedIds() {
    return Array.from(document.querySelectorAll("#execution-rows input[name=ids]:checked"))
      .map(function (box) { return box.value; });
  }

  // ---- Frames for rows that are not on the page are dropped before htmx sees them ----------------
  // The server knows which rows it sent, not which ones this page still shows (rows trimmed past the
  // page size, inserts held back): a row update without its row would be an htmx:oobErrorNoTarget.
  var OOB_ROW = /<tr id="(row-[^"]+)"[^>]*\bhx-swap-oob="[^"]*"[^>]*>[\s\S]*?<\/tr>/g;
  if (window.htmx) {
    htmx.defineExtension("live-rows", {
      transformResponse: function (text) {
        if (text.indexOf('<tr id="row-') < 0) { return text; }
        return text.replace(OOB_ROW, function (whole, id) { return document.getElementById(id) ? whole : ""; });
      },
    });
  }

  // ---- The hold: rows never move under the user, and never lie ----------------------------------
  // While rows are ticked, a menu or dialog is open, or the pointer moves over the table, rows are
  // neither inserted nor removed: those are counted in the "+N new · M changed — apply" bar. A row
  // on screen always shows its current content, held or not: an update applies in place, and a row
  // that left the view (stopped under a "running" filter, deleted) is shown as it is now and marked
  // as leaving, so it cannot contradict what the user just did. Once something is held back, later
  // moves are held too until "apply" is clicked (the table never shows a mix); apply reloads the
  // results and the socket (#live) from the database.
  var held = { fresh: 0, changed: 0, hover: false };
  function tableFrozen() {
    var body = rowsBody();
    if (held.hover && body && body.rows.length) { return true; }  // an empty table has nothing to keep still
    if (document.querySelector("#execution-rows input[name=ids]:checked")) { return true; }
    return !!document.querySelector("dialog[open], details.menu[open]");
  }
  function holding() { return tableFrozen() || held.fresh + held.changed > 0; }
  function showHeld() {
    var bar = document.getElementById("freeze-bar");
    if (!bar) { return; }
    bar.querySelector(".freeze-new").textContent = "+" + held.fresh;
    bar.querySelector(".freeze-changed").textContent = String(held.changed);
    bar.hidden = held.fresh + held.changed === 0;
    var banner = document.getElementById("new-banner");
    if (!bar.hidden && banner) { banner.textContent = ""; }  // the bar's apply covers what it offered
  }
  function keepTick(target, fragment) {
    var ticked = target.querySelector && target.querySelector("input[name=ids]:checked");
    var box = ticked && fragment && fragment.querySelector("input[name=ids]");
    if (box) { box.setAttribute("checked", ""); }
  }
  // A row updated in place keeps its nodes: only the cells whose markup changed are replaced and the
  // row's attributes are brought up to date. A Stop button being pressed (mousedown on one node and
  // mouseup on its replacement is no click) or holding the focus is never detached; in the demo a
  // running row changes every second or so. What htmx does after a swap is done for the new cells
  // (process, htmx:load) and the row (htmx:oobAfterSwap, which the page's other handlers follow).
  function patchRow(target, incoming, detail) {
    var old = Array.from(target.cells), fresh = Array.from(incoming.cells || []);
    if (!old.length || old.length !== fresh.length || !window.htmx) { return; }
    Array.from(target.attributes).forEach(function (a) {
      if (a.name !== "style" && !incoming.hasAttribute(a.name)) { target.removeAttribute(a.name); }
    });
    Array.from(incoming.attributes).forEach(function (a) {
      if (a.name !== "hx-swap-oob" && target.getAttribute(a.name) !== a.value) { target.setAttribute(a.name, a.value); }
    });
    var added = fresh.filter(function (cell, i) {
      if (cell.outerHTML === old[i].outerHTML) { return false; }
      target.replaceChild(cell, old[i]);
      return true;
    });
    detail.shouldSwap = false;
    added.forEach(function (cell) { htmx.process(cell); htmx.trigger(cell, "htmx:load", { elt: cell }); });
    htmx.trigger(target, "htmx:oobAfterSwap", { target: target, fragment: detail.fragment, shouldSwap: true });
  }
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var body = rowsBody();
    var target = evt.detail.target;
    if (!body || !target || !evt.detail.shouldSwap) { return; }
    var fragment = evt.detail.fragment;
    var incoming = fragment && fragment.firstElementChild;
    var isRow = target.parentNode === body;
    var insert = target === body;
    var removal = isRow && !incoming;  // a bare delete (a retry chain folding)
    var banner = target.id === "new-banner";
    var leaving = isRow && incoming && incoming.dataset && incoming.dataset.leaving;
    if (isRow && incoming && !leaving) {  // an update in place: always applied, keeping the tick
      if (incoming.dataset && incoming.dataset.h && incoming.dataset.h === target.dataset.h) {
        evt.detail.shouldSwap = false;  // nothing visible changed: keep the row, take its version
        target.dataset.version = incoming.dataset.version;
        return;
      }
      keepTick(target, fragment);
      patchRow(target, incoming, evt.detail);
      return;
    }
    if (!(insert || removal || banner || leaving)) { return; }
    if (!holding()) {
      if (leaving) { evt.detail.shouldSwap = false; target.remove(); }
      return;
    }
    if (leaving) {  // shown as it is now, marked; it leaves on apply
      keepTick(target, fragment);
      if (!target.dataset.leaving) { held.changed += 1; showHeld(); }
      return;
    }
    evt.detail.shouldSwap = false;
    if (insert) { held.fresh += Math.max(1, fragment.querySelectorAll("tr").length); }
    else { held.changed += 1; }
    showHeld();
  });
  function applyHeld() {
    var results = document.getElementById("results");
    held.fresh = 0; held.changed = 0;
    showHeld();
    if (results && window.htmx) {
      htmx.ajax("GET", results.dataset.liveUrl, { target: "#live", swap: "outerHTML" });
    }
  }
  document.addEventListener("click", function (evt) {
    if (evt.target.closest && evt.target.closest(".freeze-apply")) { applyHeld(); }
  });
  // Only a real pointer move holds the table: Chrome also fires mouseover when rows move under a
  // still pointer, and a pointer parked over the table by chance should not hold it.
  document.addEventListener("mousemove", function (evt) {
    held.hover = !!(evt.target.closest && evt.target.closest(".table-wrap"));
  });
  document.addEventListener("mouseout", function (evt) {
    var to = evt.relatedTarget;
    if (!to || !to.closest || !to.closest(".table-wrap")) { held.hover = false; }
  });

  // ---- Rows that do move, glide (FLIP) -----------------------------------------------------------
  // A socket message may insert, remove or resize rows. Each row (and the pager under the table) is
  // put back where it was, then slides to its new place: nothing jumps, and content the user is
  // reading is never displaced in a single frame.
  var before = null;
  function moving() {
    var body = rowsBody();
    if (!body) { return []; }
    var list = Array.from(body.rows);
    var pager = document.querySelector("#results .pager");
    if (pager) { list.push(pager); }
    return list;
  }
  document.addEventListener("htmx:wsBeforeMessage", function () {
    before = new Map();
    moving().forEach(function (el) { before.set(el.id || "pager", el.getBoundingClientRect()); });
  });
  document.addEventListener("htmx:wsAfterMessage", function () {
    if (!before) { return; }
    var was = before;
    before = null;
    var slides = [];
    var above = null;  // the bottom edge where a row above that grew (or was held back) starts its slide
    moving().forEach(function (el) {
      var key = el.id || "pager";
      if (!was.has(key)) {
        if (el.tagName === "TR") { el.classList.add("row-new"); }
        above = null;
        return;
      }
      // A slide still running is replaced: measure the row where layout puts it, and start the new
      // slide from where it is seen now (two messages in one frame must not jump by the first).
      // Chrome keeps a running transition whose end value is the new style (no transform), so the
      // slide is cancelled by hand: else layout's place is misread by what is left of it and the row
      // jumps by that much (18 px mid-slide, measured).
      if (el.hasAttribute("style")) {
        el.removeAttribute("style");
        el.getAnimations().forEach(function (a) { if (a.transitionProperty === "transform") { a.cancel(); } });
      }
      var box = el.getBoundingClientRect();
      var old = was.get(key);
      var dy = old.top - box.top;
      // A row never starts over a row above it that grew (a leaving row showing its error line):
      // the next rows would slide from their old places over its new lines. They start below it
      // instead (every slide has the same duration and easing, so rows apart at the start and at the
      // end stay apart in between). Only growth does this: a row still sliding under a new one keeps
      // sliding from where it is seen (a jump there would be a layout shift).
      var held = above !== null && box.top + dy < above;
      if (held) { dy = above - box.top; }
      above = held || box.height > old.height + 0.5 ? box.bottom + dy : null;
      if (Math.abs(dy) >= 0.5) { slides.push([el, dy]); }
    });
    // Set through the CSSOM (allowed by the CSP), before the next paint: every row is painted where
    // it was, then glides to its place.
    slides.forEach(function (s) {
      s[0].style.transition = "none";
      s[0].style.transform = "translateY(" + s[1] + "px)";
    });
    if (!slides.length) { return; }
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        var ms = reducedMotion() ? 0 : 240;
        slides.forEach(function (s) {
          if (!s[0].style.transform) { return; }  // replaced or re-measured meanwhile
          s[0].style.transition = "transform " + ms + "ms ease-out";
          s[0].style.transform = "";
        });
        setTimeout(function () { slides.forEach(function (s) { if (!s[0].style.transform) { s[0].removeAttribute("style"); } }); }, ms + 50);
      });
    });
  });
  // A row about to be replaced drops its slide first: htmx copies the old row's attributes onto the
  // new one while it settles, and a copied style attribute is an inline style the CSP refuses.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    if (evt.detail.shouldSwap && target && target.hasAttribute && target.hasAttribute("style") && target.parentNode === rowsBody()) {
      target.removeAttribute("style");
    }
  });
  function reducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  // ---- The bulk bar: how many rows are ticked; rows acted on are unticked when the operation ends --
  function showTicked() {
    var count = document.getElementById("ticked-count");
    if (!count) { return; }
    var n = tickedIds().length;
    count.textContent = n ? n + " ticked" : "No rows ticked";
    count.dataset.count = String(n);
  }
  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches("#execution-rows input[name=ids], #select-all")) { setTimeout(showTicked, 0); }
  });
  document.addEventListener("htmx:afterSettle", showTicked);
  document.addEventListener("htmx:oobAfterSwap", showTicked);
  var actedOn = [];
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (form && form.id === "bulk-run" && evt.detail.successful) { actedOn = tickedIds(); }
  });
  function untickActedOn(progress) {
    var status = progress.dataset.status;
    if (!actedOn.length || status === "queued" || status === "running") { return; }
    actedOn.forEach(function (id) {
      var box = document.querySelector("#row-" + CSS.escape(id) + " input[name=ids]");
      if (box) { box.checked = false; box.removeAttribute("checked"); }
    });
    actedOn = [];
    var all = document.getElementById("select-all");
    if (all) { all.checked = false; }
    showTicked();
  }
  document.addEventListener("htmx:load", function (evt) {
    var elt = evt.detail.elt;
    var progress = elt && elt.id === "operation-progress" ? elt : elt && elt.querySelector && elt.querySelector("#operation-progress");
    if (progress) { untickActedOn(progress); }
  });

  // ---- Modal dialogs (the stop dialog): backdrop, focus trapped by showModal, Esc closes ---------
  function openModal(dialog) {
    if (dialog.open) { return; }
    dialog.showModal();
    var first = dialog.querySelector("[data-initial-focus]");
    if (first) { first.focus(); }
  }
  document.addEventListener("htmx:load", function (evt) {
    var elt = evt.detail.elt;
    if (!elt || !elt.querySelectorAll) { return; }
    if (elt.matches("dialog[data-modal]")) { openModal(elt); }
    elt.querySelectorAll("dialog[data-modal]").forEach(openModal);
  });
  // Tab cycles inside the open modal (showModal makes the page inert, but Tab would still leave
  // for the browser's own controls after the last button).
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Tab") { return; }
    var dialog = document.querySelector("dialog[data-modal][open]");
    if (!dialog) { return; }
    var focusable = Array.from(dialog.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea"));
    if (!focusable.length) { return; }
    var first = focusable[0], last = focusable[focusable.length - 1];
    var inside = dialog.contains(document.activeElement);
    if (evt.shiftKey && (document.activeElement === first || !inside)) { evt.preventDefault(); last.focus(); }
    else if (!evt.shiftKey && (document.activeElement === last || !inside)) { evt.preventDefault(); first.focus(); }
  });
  // The stop dialog's counts refresh while it is open: its confirm button says the same number.
  // Not while a stop is on its way: the button says "Stopping…" until the answer.
  document.addEventListener("htmx:afterSettle", function () {
    var live = document.getElementById("stop-live");
    var confirm = document.getElementById("stop-confirm");
    if (!live || !confirm || stopBusy()) { return; }
    var n = confirm.querySelector(".stop-n"), s = confirm.querySelector(".stop-s");
    if (n) { n.textContent = live.dataset.total; }
    if (s) { s.textContent = live.dataset.total === "1" ? "" : "s"; }  // "Stop 1 execution", "Stop 2 executions"
    confirm.disabled = live.dataset.stoppable !== "1";
  });

  // ---- A stop on its way, and its answer (issue 19, operators: a stopped row never reads RUNNING) --
  // From the confirm to the answer the dialog stays open and says "Stopping…" (a loaded server may
  // take seconds): the counts stop refreshing, Cancel and Esc wait. The answer shows the outcome by
  // itself: a success closes the dialog, and its note and the row's new status come with it; a
  // refusal answers the dialog again saying why; any other error closes it for its message; no
  // answer at all says so in the dialog and lets the user try again.
  function stopBusy() {
    var dialog = document.getElementById("stop-dialog");
    return !!(dialog && dialog.dataset.busy);
  }
  function setStopBusy(busy, text) {
    var dialog = document.getElementById("stop-dialog");
    if (!dialog) { return; }
    if (busy) { dialog.dataset.busy = "1"; } else { delete dialog.dataset.busy; }
    dialog.setAttribute("aria-busy", busy ? "true" : "false");
    var progress = document.getElementById("stop-progress");
    if (progress) { progress.textContent = text || ""; }
    var confirm = document.getElementById("stop-confirm");
    var cancel = document.getElementById("stop-cancel");
    if (cancel) { cancel.disabled = busy; }
    if (!confirm) { return; }
    if (busy) {
      confirm.dataset.label = confirm.dataset.label || confirm.innerHTML;
      confirm.textContent = "Stopping…";
      confirm.disabled = true;
    } else {
      if (confirm.dataset.label) { confirm.innerHTML = confirm.dataset.label; delete confirm.dataset.label; }
      var live = document.getElementById("stop-live");
      confirm.disabled = !live || live.dataset.stoppable !== "1";
    }
  }
  // The count refresh's own events reach the form too (htmx fires them on the nearest element still
  // in the page once #stop-live was swapped out): only the POST is the stop.
  function isStopForm(evt) {
    var config = evt.detail.requestConfig;
    return !!(evt.detail.elt && evt.detail.elt.id === "stop-form" && config && config.verb === "post");
  }
  document.addEventListener("htmx:beforeRequest", function (evt) {
    if (isStopForm(evt)) {
      setStopBusy(true, "Stopping… waiting for the server's answer.");
    } else if (evt.detail.elt && evt.detail.elt.id === "stop-live" && stopBusy()) {
      evt.preventDefault();  // no count refresh while the stop is on its way
    }
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    if (!isStopForm(evt)) { return; }
    var xhr = evt.detail.xhr;
    var dialog = document.getElementById("stop-dialog");
    if (!xhr || !xhr.status) {  // no answer (network): nothing says the stop happened
      setStopBusy(false, "No answer from the server: the stop may not have been applied. Try again.");
      return;
    }
    if (!dialog) { return; }  // a refusal replaced the dialog (a new one, not busy)
    var toToasts = xhr.getResponseHeader("HX-Retarget") === "#toasts";
    if (evt.detail.successful || toToasts) { dialog.remove(); } else { setStopBusy(false, ""); }
  });
  document.addEventListener("cancel", function (evt) {
    if (evt.target && evt.target.id === "stop-dialog" && stopBusy()) { evt.preventDefault(); }  // Esc waits
  }, true);
  // Closed (Esc, Cancel, done): it leaves the page, so nothing polls or holds the table for it.
  document.addEventListener("close", function (evt) {
    var dialog = evt.target;
    if (dialog && dialog.matches && dialog.matches("dialog[data-modal]")) { dialog.remove(); }
  }, true);
})();

// ===== Times in the viewer's timezone (issue 19 item 6) =====
// The server writes UTC ("13:02:11", or "Dec 06 13:02" when not today); here each <time data-local>
// shows the viewer's local time, with the date when it is not today, and the UTC instant on hover;
// column headers name the timezone.
(function () {
  "use strict";
  var zone = (function () {
    try {
      var part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(new Date())
        .filter(function (p) { return p.type === "timeZoneName"; })[0];
      return part ? part.value : "local";
    } catch (e) { return "local"; }
  })();
  var clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  var dated = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });
  function localize(root) {
    var today = new Date().toDateString();
    (root || document).querySelectorAll("time[data-local]").forEach(function (el) {
      var t = new Date(el.getAttribute("datetime"));
      if (isNaN(t.getTime())) { return; }
      el.textContent = t.toDateString() === today ? clock.format(t) : dated.format(t);
      el.title = t.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
    });
    (root || document).querySelectorAll("[data-tz]").forEach(function (el) { el.textContent = zone; el.title = "Times are in your timezone; hover a time for UTC"; });
  }
  document.addEventListener("htmx:load", function (evt) { localize(evt.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { localize(document); });
  } else {
    localize(document);
  }
})();
