// Athena Monitor page behaviour. No inline scripts and no eval, so a strict CSP holds.
(function () {
  "use strict";

  // Reconnects resume from the last event this page applied: rewrite ?since= at every connect.
  function cursor() {
    return Array.from(document.querySelectorAll(".live-seq"))
      .map(function (el) { return el.dataset.workspace + ":" + el.dataset.seq; })
      .join(",");
  }
  function patchWebSocketFactory() {
    if (!window.htmx) { return; }
    htmx.createWebSocket = function (url) {
      var u = new URL(url, window.location.href);
      var since = cursor();
      if (since) { u.searchParams.set("since", since); }
      // Which rows this page shows, so the server updates, inserts or removes against the real DOM.
      var shown = Array.from(document.querySelectorAll("#execution-rows tr[id^='row-']"))
        .map(function (tr) { return tr.id.slice(4); });
      if (document.getElementById("execution-rows")) { u.searchParams.set("rows", shown.join(",")); }
      return new WebSocket(u.toString());
    };
  }

  // A fragment older than what the page shows must never overwrite it.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    var fragment = evt.detail.fragment;
    var incoming = fragment && (fragment.firstElementChild || fragment);
    if (!target || !incoming || !target.dataset || !incoming.dataset) { return; }
    var have = parseInt(target.dataset.version || "", 10);
    var got = parseInt(incoming.dataset.version || "", 10);
    if (!isNaN(have) && !isNaN(got) && got < have) { evt.detail.shouldSwap = false; }
    // Cursors (#seq-*) are always taken: a socket delivers in order, and after a resync the server
    // may legitimately move a cursor back (the database was reset).
  });

  // Keep the first page at its size when rows slide in at the top.
  document.addEventListener("htmx:oobAfterSwap", function () {
    var results = document.getElementById("results");
    var body = document.getElementById("execution-rows");
    if (!results || !body) { return; }
    var max = parseInt(results.dataset.perPage || "50", 10);
    while (body.rows.length > max) { body.deleteRow(body.rows.length - 1); }
    var empty = results.querySelector(".empty");
    if (empty && body.rows.length) { empty.remove(); }
  });

  // The live table's hold (issue 9) and its rows' moves: static/list-live.js.

  // Retry chains: the badge loads the earlier attempts under the row; a second click folds them.
  document.addEventListener("htmx:confirm", function (evt) {
    var badge = evt.detail.elt;
    if (!badge.dataset || !badge.dataset.chain) { return; }
    var shown = document.querySelectorAll(".chain-of-" + CSS.escape(badge.dataset.chain));
    if (shown.length) {
      evt.preventDefault();
      shown.forEach(function (tr) { tr.remove(); });
      badge.setAttribute("aria-expanded", "false");
    } else {
      badge.setAttribute("aria-expanded", "true");
    }
  });

  // Connection indicator: live / reconnecting / resynced.
  var resyncTimer = null;
  function setConn(state) {
    var el = document.getElementById("conn");
    if (!el) { return; }
    el.dataset.state = state;
    el.querySelector(".conn-label").textContent = state;
  }
  document.addEventListener("htmx:wsConnecting", function () { setConn("connecting"); });
  document.addEventListener("htmx:wsOpen", function () { setConn("live"); });
  document.addEventListener("htmx:wsClose", function () { setConn("reconnecting"); });
  document.addEventListener("htmx:wsError", function () { setConn("reconnecting"); });
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var el = evt.detail.target;
    if (el && el.id === "conn-server-state" && el.dataset.state === "resynced") {
      setConn("resynced");
      clearTimeout(resyncTimer);
      resyncTimer = setTimeout(function () { setConn("live"); }, 2500);
    } else if (el && el.id === "conn-server-state" && el.dataset.state === "delayed") {
      clearTimeout(resyncTimer);
      setConn("delayed");
    }
  });

  // Insights: the current interval polls (#now); the indicator says whether the last poll worked,
  // and a failed poll keeps the last numbers instead of swapping an error page into the panel.
  function setPolling(ok) {
    setConn(ok ? "live" : "reconnecting");
    var label = document.querySelector("#conn .conn-label");
    if (ok && label) { label.textContent = "live · 10 s"; }
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("now")) { setPolling(true); }
  });
  document.addEventListener("htmx:beforeSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "now" && evt.detail.isError) {
      evt.detail.shouldSwap = false;
      setPolling(false);
    }
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.detail.elt && evt.detail.elt.id === "now") { setPolling(evt.detail.successful); }
  });

  // Durations of running executions tick every second.
  function fmt(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) { return seconds + "s"; }
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (m < 60) { return m + "m " + String(s).padStart(2, "0") + "s"; }
    var h = Math.floor(m / 60); m = m % 60;
    if (h < 48) { return h + "h " + String(m).padStart(2, "0") + "m"; }
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }
  setInterval(function () {
    var now = Date.now();
    document.querySelectorAll("[data-started]").forEach(function (el) {
      var t = Date.parse(el.dataset.started);
      if (!isNaN(t)) { el.textContent = fmt((now - t) / 1000); }
    });
  }, 1000);

  // Copy buttons and auto-submitting selects.
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-copy]");
    if (!btn) { return; }
    var text = btn.dataset.copy;
    if (navigator.clipboard) { navigator.clipboard.writeText(text); }
    btn.classList.add("copied");
    setTimeout(function () { btn.classList.remove("copied"); }, 900);
  });
  document.addEventListener("change", function (evt) {
    if (evt.target.matches("select.autosubmit")) { evt.target.form.submit(); }
  });

  // Rows pushed over the socket are rendered once for everyone: hide actions this user may not take here.
  function pruneActions() {
    var operable = (document.body.dataset.operable || "").split(" ");
    document.querySelectorAll("#execution-rows tr[data-ws]").forEach(function (tr) {
      if (operable.indexOf(tr.dataset.ws) < 0) {
        tr.querySelectorAll(".op-only").forEach(function (el) { el.remove(); });
      }
    });
  }
  document.addEventListener("htmx:oobAfterSwap", pruneActions);
  document.addEventListener("htmx:afterSwap", pruneActions);

  // The stop dialog closes itself once its request is answered; toasts fade after a while.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var dialog = evt.target.closest && evt.target.closest("dialog");
    if (dialog && evt.target.classList.contains("close-dialog")) { dialog.remove(); }
  });
  // A toast written here (a key that cannot act), fading like the server's.
  function say(message) {
    var area = document.getElementById("toasts");
    if (!area) { return; }
    var note = document.createElement("div");
    note.className = "toast";
    note.setAttribute("role", "status");
    note.textContent = message;
    area.appendChild(note);
    setTimeout(function () { note.remove(); }, 6000);
  }
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "toasts") {
      var toast = evt.detail.target.lastElementChild;
      setTimeout(function () { if (toast) { toast.remove(); } }, 6000);
    }
  });
  document.addEventListener("change", function (evt) {
    if (evt.target.id === "select-all") {
      document.querySelectorAll("#execution-rows input[name=ids]").forEach(function (box) {
        box.checked = evt.target.checked;
      });
    }
  });

  // Bulk actions: the preview dialog closes once its operation started (it stays on a refusal, say a
  // wrong confirm count); a finished operation's report can be dismissed.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (form && form.classList && form.classList.contains("close-on-success") && evt.detail.successful) {
      var dialog = form.closest("dialog");
      if (dialog) { dialog.remove(); }
    }
  });
  // A dismissed report stays dismissed: the server offers the latest report on every page load for
  // ten minutes (so a reload keeps a running operation), and it came back after each filter applied.
  var DISMISSED = "athena:dismissed-operations";
  function dismissedOps() {
    try { return JSON.parse(localStorage.getItem(DISMISSED) || "[]"); } catch (e) { return []; }
  }
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest && evt.target.closest(".dismiss-op");
    var box = btn && btn.closest("#operation-progress");
    if (!box) { return; }
    if (box.dataset.operation) {
      try { localStorage.setItem(DISMISSED, JSON.stringify(dismissedOps().concat([box.dataset.operation]).slice(-20))); } catch (e) { /* private mode: dismissed here only */ }
    }
    box.remove();
  });
  document.addEventListener("htmx:load", function (evt) {
    var elt = evt.detail.elt;
    var box = elt && (elt.id === "operation-progress" ? elt : elt.querySelector && elt.querySelector("#operation-progress"));
    if (!box || box.dataset.status === "queued" || box.dataset.status === "running") { return; }
    if (dismissedOps().indexOf(box.dataset.operation) >= 0) { box.remove(); }
  });

  // Keyboard: "/" search, j/k move, enter opens. On the approvals page j/k move over the reviews
  // still waiting, "a" approves the selected one and "r" focuses its reject comment (Enter sends).
  var active = -1;
  var activeId = null;
  function rows() {
    var list = Array.from(document.querySelectorAll("#execution-rows tr"));
    if (list.length) { return list; }
    return Array.from(document.querySelectorAll("#approval-items .approval-item"))
      .filter(function (el) { return !el.querySelector(".approval-done"); });
  }
  function highlight(list) {
    document.querySelectorAll(".kb-active").forEach(function (el) { el.classList.remove("kb-active"); });
    if (active >= 0 && list[active]) { list[active].classList.add("kb-active"); activeId = list[active].id; }
  }
  function mark(index) {
    var list = rows();
    if (!list.length) { return; }
    active = Math.max(0, Math.min(list.length - 1, index));
    highlight(list);
    list[active].scrollIntoView({ block: "nearest" });
  }
  // After live swaps keep the same row selected (or, when it left, the one now in its place).
  function remark() {
    if (active < 0) { return; }
    var list = rows();
    if (!list.length) { active = -1; highlight(list); return; }
    var i = list.findIndex(function (el) { return el.id && el.id === activeId; });
    active = i >= 0 ? i : Math.min(active, list.length - 1);
    highlight(list);
  }
  document.addEventListener("htmx:afterSwap", remark);
  document.addEventListener("htmx:oobAfterSwap", remark);
  // static/approvals.js removed a card (dismissed, or left behind by the highlight): keep it by id.
  document.addEventListener("athena:approvals-changed", remark);
  document.addEventListener("keydown", function (evt) {
    var tag = (evt.target.tagName || "").toLowerCase();
    if (evt.key === "Escape" && evt.target.classList && evt.target.classList.contains("ai-comment-box")) {
      evt.target.blur();
      return;
    }
    if (tag === "input" || tag === "textarea" || tag === "select" || evt.metaKey || evt.ctrlKey || evt.altKey) { return; }
    // The phone's open header menu has the focus: a key there is not meant for the list ("a" would approve).
    if (document.querySelector("header.menu-open")) { return; }
    if (evt.key === "/") {
      var search = document.querySelector("#filters input[name=q], #approval-filters input[name=q]");
      if (search) { evt.preventDefault(); search.focus(); search.select(); }
    } else if (evt.key === "j") { mark(active + 1); }
    else if (evt.key === "k") { mark(active - 1); }
    else if (evt.key === "Enter" && active >= 0) {
      var link = rows()[active] && rows()[active].querySelector(".wf a, .ai-open");
      if (link) { window.location.href = link.href; }
    } else if ((evt.key === "a" || evt.key === "r") && active >= 0) {
      var item = rows()[active];
      if (!item || !item.classList.contains("approval-item")) { return; }
      if (evt.key === "a") {
        var approve = item.querySelector(".ai-approve button[type=submit]");
        if (approve && approve.disabled) {
          // A click on a disabled button does nothing: say why instead of nothing at all.
          evt.preventDefault();
          say(approve.title || "You may not approve this.");
        } else if (approve) { evt.preventDefault(); approve.click(); }
      } else {
        var box = item.querySelector(".ai-comment-box");
        if (box) { evt.preventDefault(); box.focus(); }
      }
    }
  });

  // Approvals: a decided review shows who decided, fades, then leaves. A note for a decision made
  // here ("by you") is not overwritten by the socket's note for the same decision.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    if (target && target.classList && target.classList.contains("approval-item") && target.querySelector(".approval-done")) {
      evt.detail.shouldSwap = false;
    }
  });
  // A list reload carries a kept (decided) card into the new list, and a moved element starts its
  // CSS animations again: in a busy inbox (a reload every second or two) the note never faded. Each
  // note keeps the time it was first seen, and its fade is set back to where that time says.
  function keepFadeClocks() {
    var now = performance.now();
    document.querySelectorAll(".approval-done").forEach(function (note) {
      var fade = note.getAnimations().filter(function (a) { return a.animationName === "approval-fade"; })[0];
      if (!fade) { return; }
      if (!note.dataset.shownAt) { note.dataset.shownAt = String(now - (Number(fade.currentTime) || 0)); return; }
      fade.currentTime = now - Number(note.dataset.shownAt);
    });
  }
  document.addEventListener("htmx:afterSettle", keepFadeClocks);
  document.addEventListener("htmx:oobAfterSwap", keepFadeClocks);
  document.addEventListener("animationstart", function (evt) {
    if (evt.animationName === "approval-fade") { keepFadeClocks(); }
  });
  document.addEventListener("animationend", function (evt) {
    if (evt.animationName !== "approval-fade") { return; }
    var item = evt.target.closest(".approval-item");
    if (item) { item.remove(); remark(); }
  });
  document.addEventListener("change", function (evt) {
    if (evt.target.matches("input[type=checkbox].autosubmit")) { evt.target.form.submit(); }
  });

  // Timeline bars are placed from data attributes: the CSP forbids style="" in the markup, but
  // setting element.style from our own script is allowed.
  function placeBars(root) {
    (root || document).querySelectorAll(".tl-bar[data-left]").forEach(function (bar) {
      bar.style.marginLeft = parseFloat(bar.dataset.left) + "%";
      bar.style.width = parseFloat(bar.dataset.width) + "%";
    });
  }
  document.addEventListener("htmx:load", function (evt) { placeBars(evt.detail.elt); });

  // The execution timeline's lanes: bars and marks sit at a % of the execution's span.
  function placeLaneItems(root) {
    (root || document).querySelectorAll(".tl-lane-bar[data-left], .tl-mark[data-left]").forEach(function (el) {
      el.style.left = parseFloat(el.dataset.left) + "%";
      if (el.dataset.width) { el.style.width = parseFloat(el.dataset.width) + "%"; }
    });
  }
  document.addEventListener("htmx:load", function (evt) { placeLaneItems(evt.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { placeLaneItems(document); });
  } else {
    placeLaneItems(document);
  }

  // Presence ("Ana is reviewing this", "Bo is stopping this") travels on the page's own socket.
  // We tell the server what this user has open (a review, the stop dialog), refresh it every 10 s
  // while it stays open, and clear it when it closes; the server pushes what others have open into
  // #presence-feed, and we copy it onto every [data-presence-approval|execution] span of that uuid.
  var pageSocket = null;
  var myPresence = {};  // "target:uuid" -> {target, uuid, activity}
  var othersPresence = {};  // "target:uuid" -> text
  function sendPresence(p, state) {
    if (!pageSocket) { return; }
    try {
      pageSocket.send(JSON.stringify({presence: {target: p.target, uuid: p.uuid, activity: p.activity, state: state}}));
    } catch (e) { /* the socket reconnects; the next refresh sends it again */ }
  }
  function presenceOn(target, uuid, activity) {
    var key = target + ":" + uuid;
    var had = myPresence[key];
    myPresence[key] = {target: target, uuid: uuid, activity: activity};
    if (!had || had.activity !== activity) { sendPresence(myPresence[key], "on"); }
  }
  function presenceOff(target, uuid) {
    var key = target + ":" + uuid;
    if (!myPresence[key]) { return; }
    sendPresence(myPresence[key], "off");
    delete myPresence[key];
  }
  function showPresence(root) {
    Object.keys(othersPresence).forEach(function (key) { paintPresence(key, root); });
  }
  function paintPresence(key, root) {
    var parts = key.split(":");
    var text = othersPresence[key] || "";
    (root || document).querySelectorAll("[data-presence-" + parts[0] + "='" + parts[1] + "']").forEach(function (el) {
      el.textContent = text;
      el.hidden = !text;
    });
  }
  function readPresenceFeed() {
    var feed = document.getElementById("presence-feed");
    if (!feed) { return; }
    feed.querySelectorAll(".presence-msg").forEach(function (msg) {
      var key = msg.dataset.target + ":" + msg.dataset.uuid;
      if (msg.dataset.text) { othersPresence[key] = msg.dataset.text; } else { delete othersPresence[key]; }
      paintPresence(key, document);
      if (!msg.dataset.text) {
        document.querySelectorAll("[data-presence-" + msg.dataset.target + "='" + msg.dataset.uuid + "']")
          .forEach(function (el) { el.hidden = true; el.textContent = ""; });
      }
      msg.remove();
    });
  }
  document.addEventListener("htmx:wsOpen", function (evt) {
    pageSocket = evt.detail.socketWrapper;
    Object.keys(myPresence).forEach(function (key) { sendPresence(myPresence[key], "on"); });
  });
  document.addEventListener("htmx:wsClose", function () { pageSocket = null; });
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "presence-feed") { readPresenceFeed(); } else { showPresence(evt.detail.target); }
  });
  document.addEventListener("htmx:load", function (evt) { showPresence(evt.detail.elt); });
  // What this user has open: the review holding the focus (inbox item, group, execution page) and
  // the stop dialog.
  function reviewsIn(el) {
    var item = el && el.closest && el.closest("[data-approval], [data-approval-group], .approval[id^='detail-approval-']");
    if (!item) { return []; }
    if (item.dataset.approval) { return [item.dataset.approval]; }
    if (item.dataset.approvalGroup) {
      return Array.from(item.querySelectorAll("input[name=approval_uuid]")).slice(0, 50)
        .map(function (input) { return input.value; })
        .filter(function (v, i, all) { return all.indexOf(v) === i; });
    }
    return [item.id.slice("detail-approval-".length)];
  }
  function syncReviewing() {
    var open = reviewsIn(document.activeElement);
    Object.keys(myPresence).forEach(function (key) {
      var p = myPresence[key];
      if (p.activity === "reviewing" && open.indexOf(p.uuid) < 0) { presenceOff(p.target, p.uuid); }
    });
    open.forEach(function (uuid) { presenceOn("approval", uuid, "reviewing"); });
  }
  function syncStopping() {
    var dialog = document.getElementById("stop-dialog");
    var stopping = dialog && dialog.open && dialog.dataset.execution;
    Object.keys(myPresence).forEach(function (key) {
      var p = myPresence[key];
      if (p.activity === "stopping" && p.uuid !== stopping) { presenceOff(p.target, p.uuid); }
    });
    if (stopping) { presenceOn("execution", stopping, "stopping"); }
  }
  document.addEventListener("focusin", function () { syncReviewing(); });
  document.addEventListener("focusout", function () { setTimeout(syncReviewing, 200); });
  document.addEventListener("htmx:afterSwap", function () { syncStopping(); });
  document.addEventListener("htmx:afterRequest", function () { setTimeout(syncStopping, 0); });
  document.addEventListener("close", function () { setTimeout(syncStopping, 0); }, true);
  setInterval(function () {
    syncReviewing();
    syncStopping();
    Object.keys(myPresence).forEach(function (key) { sendPresence(myPresence[key], "on"); });
  }, 10000);
  window.addEventListener("pagehide", function () {
    Object.keys(myPresence).forEach(function (key) { sendPresence(myPresence[key], "off"); });
  });

  function init() { patchWebSocketFactory(); pruneActions(); placeBars(document); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

// ===== The header's menu on phones (issue 19 item 8) =====
// Below 700 px the navigation and the account fold under a "Menu" button (static/app.css); it is a
// real button with aria-expanded. Esc closes it (focus back on the button), as does a click or a
// focus outside it; a link in it navigates as any link.
(function () {
  "use strict";
  function parts() {
    var button = document.getElementById("nav-toggle");
    return button ? { button: button, header: button.closest(".topbar"), menu: document.getElementById("topbar-menu") } : null;
  }
  function setOpen(p, open) {
    p.button.setAttribute("aria-expanded", open ? "true" : "false");
    p.header.classList.toggle("menu-open", open);
  }
  function isOpen(p) { return p.button.getAttribute("aria-expanded") === "true"; }
  document.addEventListener("click", function (evt) {
    var p = parts();
    if (!p) { return; }
    if (evt.target.closest && evt.target.closest("#nav-toggle")) {
      setOpen(p, !isOpen(p));
      if (isOpen(p)) {
        var first = p.menu.querySelector("a[aria-current]") || p.menu.querySelector("a, button");
        if (first) { first.focus(); }
      }
    } else if (isOpen(p) && !(p.menu.contains(evt.target))) {
      setOpen(p, false);
    }
  });
  document.addEventListener("keydown", function (evt) {
    var p = parts();
    if (evt.key !== "Escape" || !p || !isOpen(p)) { return; }
    setOpen(p, false);
    p.button.focus();
  });
  document.addEventListener("focusin", function (evt) {
    var p = parts();
    if (p && isOpen(p) && !p.menu.contains(evt.target) && evt.target !== p.button) { setOpen(p, false); }
  });
})();

// ===== The execution page: a review decided elsewhere keeps the comment being written =====
// The page's body is replaced whenever the execution changes. A pending review's comment box is kept
// through that (hx-preserve), but once a colleague decided the review the new body has no box, and
// what the reviewer was writing vanished without a word. It stays, read-only, saying who decided.
(function () {
  "use strict";
  var drafts = null;
  function decided(elt) {  // the review whose decision (mine) this answer is: its comment was sent
    var form = elt && elt.closest && elt.closest("form[hx-post^='/approvals/']");
    var m = form && /^\/approvals\/([^/]+)\//.exec(form.getAttribute("hx-post"));
    return m ? m[1] : null;
  }
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || target.id !== "detail-body" || !evt.detail.shouldSwap) { return; }
    var sent = decided(evt.detail.requestConfig && evt.detail.requestConfig.elt);
    drafts = [];
    target.querySelectorAll(".approval[id^='detail-approval-']").forEach(function (li) {
      var uuid = li.id.slice("detail-approval-".length);
      if (uuid === sent) { return; }
      var box = li.querySelector(".ai-comment-box"), kept = li.querySelector(".kept-draft textarea");
      var value = box && box.value.trim() ? box.value : kept ? kept.value : "";
      if (value) { drafts.push([uuid, value]); }
    });
  });
  function keep(li, value) {
    var status = li.dataset.status || "decided", who = li.dataset.decidedBy;
    var wrap = document.createElement("div");
    wrap.className = "kept-draft";
    var note = document.createElement("p");
    note.className = "ai-decided";
    note.setAttribute("role", "status");
    note.textContent = status.charAt(0).toUpperCase() + status.slice(1) + (who ? " by " + who : "") +
      " while you were writing. Your comment was not sent; it is kept here, read-only: copy it if you need it.";
    var area = document.createElement("textarea");
    area.readOnly = true;
    area.rows = 2;
    area.value = value;
    area.setAttribute("aria-label", "Your comment (not sent)");
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "btn btn-ghost btn-small";
    dismiss.textContent = "Dismiss";
    dismiss.addEventListener("click", function () { wrap.remove(); });
    wrap.append(note, area, dismiss);
    li.appendChild(wrap);
  }
  document.addEventListener("htmx:afterSwap", function () {
    var list = drafts;
    drafts = null;
    var body = document.getElementById("detail-body");
    if (!list || !body) { return; }
    list.forEach(function (d) {
      var li = document.getElementById("detail-approval-" + d[0]);
      if (li && body.contains(li) && !li.querySelector(".ai-comment-box, .kept-draft")) { keep(li, d[1]); }
    });
  });
})();
