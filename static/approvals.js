// The approver inbox (/approvals): what a reviewer is working on is never taken away by a live update.
// Loaded by templates/approvals/index.html after app.js (which owns j/k/a/r and the fade-out of
// reviews decided here). No inline scripts and no eval, so the strict CSP holds.
//
// - A review decided elsewhere arrives as a notice in #approval-notices (who, when). If the
//   reviewer is working on that card (a comment typed, focus inside, or the j/k highlight on it),
//   the card stays in place, marked "Approved by A at 10:42", its comment kept read-only (copyable)
//   and its buttons disabled, until they dismiss it or move the highlight on. An untouched card
//   says who decided and fades out, as before.
// - The list reloads after every change; cards the reviewer still has (decided, fading, or being
//   worked on and no longer pending) keep their place: the reload moves the same DOM node back in
//   (htmx hx-preserve), so the draft, the caret and the focus survive.
// - High-risk approvals (and group approvals) ask in a real modal dialog (#approve-confirm) naming
//   the title and amount; Cancel has the focus and Esc cancels.
(function () {
  "use strict";

  function changed() { document.dispatchEvent(new CustomEvent("athena:approvals-changed")); }

  function draftOf(card) {
    return Array.from(card.querySelectorAll(".ai-comment-box")).some(function (box) { return box.value.trim() !== ""; });
  }
  function engaged(card) {
    return draftOf(card) || card.contains(document.activeElement) || card.classList.contains("kb-active");
  }

  // ---- A card decided elsewhere keeps what the reviewer typed -------------------------------------
  function keepDecided(card, note) {
    card.classList.add("is-decided");
    if (card.dataset.approval) {  // no more "reviewing this" presence for a decided review
      card.dataset.decidedApproval = card.dataset.approval;
      delete card.dataset.approval;
    }
    card.querySelectorAll("button, input[type=submit]").forEach(function (b) { b.disabled = true; });
    card.querySelectorAll(".ai-comment-box").forEach(function (box) {
      box.readOnly = true;
      box.removeAttribute("required");
      box.setAttribute("aria-readonly", "true");
    });
    card.querySelectorAll(".presence").forEach(function (p) { p.hidden = true; });
    var banner = document.createElement("div");
    banner.className = "ai-decided-banner";
    banner.appendChild(note);
    if (draftOf(card)) {
      var hint = document.createElement("span");
      hint.className = "muted small";
      hint.textContent = "Your comment is kept below, read-only: copy it if you need it.";
      banner.appendChild(hint);
    }
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "btn btn-ghost btn-small ai-dismiss";
    dismiss.textContent = "Dismiss";
    banner.appendChild(dismiss);
    var main = card.querySelector(".ai-main") || card;
    main.insertBefore(banner, main.firstChild);
  }
  function stillPendingNote() {
    var p = document.createElement("p");
    p.className = "ai-decided";
    p.setAttribute("role", "status");
    p.textContent = "No longer pending here (decided, cancelled or moved): reload to see it.";
    return p;
  }
  function applyNotice(notice) {
    var card = document.getElementById("approval-" + notice.dataset.for);
    var note = notice.querySelector(".ai-decided");
    notice.remove();
    if (!card || !note || card.classList.contains("is-decided") || card.querySelector(".approval-done")) {
      return;  // gone, already marked, or decided here ("by you" stays)
    }
    if (card.classList.contains("approval-item") && engaged(card)) {
      keepDecided(card, note);
      return;
    }
    note.classList.add("approval-done");  // untouched (or a group member): says who, then fades
    note.textContent = note.textContent.trim() + ".";
    card.replaceChildren(note);
  }
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var feed = evt.detail.target;
    if (!feed || feed.id !== "approval-notices") { return; }
    feed.querySelectorAll(".approval-notice").forEach(applyNotice);
  });

  // ---- The list reload keeps the cards the reviewer still has -------------------------------------
  function mustStay(card) {
    return card.classList.contains("is-decided") || !!card.querySelector(".approval-done") || engaged(card);
  }
  function placeholderFor(doc, card) {
    var ph = doc.createElement("article");
    ph.id = card.id;
    ph.setAttribute("hx-preserve", "true");
    return ph;
  }
  function insertInOrder(doc, card, ph) {
    for (var prev = card.previousElementSibling; prev; prev = prev.previousElementSibling) {
      var before = prev.id && doc.getElementById(prev.id);
      if (before && before.classList.contains("approval-item")) { before.after(ph); return; }
    }
    for (var next = card.nextElementSibling; next; next = next.nextElementSibling) {
      var after = next.id && doc.getElementById(next.id);
      if (after && after.classList.contains("approval-item")) { after.before(ph); return; }
    }
    var items = doc.getElementById("approval-items");
    if (!items) {  // the reload found nothing pending: the kept cards still need a home
      var section = doc.getElementById("approvals-list");
      items = doc.createElement("div");
      items.id = "approval-items";
      items.className = "approval-items";
      var reminder = doc.getElementById("overdue-reminder");
      if (reminder) { reminder.after(items); } else { section.prepend(items); }
    }
    items.appendChild(ph);
  }
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || target.id !== "approvals-list" || !evt.detail.shouldSwap || evt.detail.isError) { return; }
    var kept = Array.from(target.querySelectorAll("#approval-items > .approval-item")).filter(mustStay);
    if (!kept.length) { return; }
    var doc = new DOMParser().parseFromString(evt.detail.serverResponse, "text/html");
    if (!doc.getElementById("approvals-list")) { return; }
    var moved = 0;
    kept.forEach(function (card) {
      var fresh = doc.getElementById(card.id);
      var decided = card.classList.contains("is-decided") || card.querySelector(".approval-done");
      if (fresh && !decided) { return; }  // still pending: hx-preserve on its comment keeps the draft
      if (!decided) { keepDecided(card, stillPendingNote()); }
      var ph = placeholderFor(doc, card);
      if (fresh) { fresh.replaceWith(ph); } else { insertInOrder(doc, card, ph); }
      moved += 1;
    });
    if (moved) { evt.detail.serverResponse = doc.body.innerHTML; }
  });

  // ---- A card swapped in is wired by htmx only when it settles (20 ms, longer under load): a submit
  // before that (a click, or "a" right after the highlight moved onto it) would be the browser's own
  // GET of the page, losing the decision. Wire the form now and send the submit through htmx.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("#approvals-list form[hx-post]")) { return; }
    var data = form["htmx-internal-data"];
    if (data && data.initHash) { return; }  // already wired: htmx handles this submit
    evt.preventDefault();
    htmx.process(form);
    htmx.trigger(form, "submit");
  }, true);

  // ---- Leaving a decided card: Dismiss, or moving the highlight on --------------------------------
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest(".ai-dismiss");
    if (!button) { return; }
    var card = button.closest(".approval-item");
    if (card) { card.remove(); changed(); }
  });
  document.addEventListener("keydown", function (evt) {
    var tag = (evt.target.tagName || "").toLowerCase();
    if ((evt.key !== "j" && evt.key !== "k") || tag === "input" || tag === "textarea" || tag === "select") { return; }
    var left = Array.from(document.querySelectorAll(".approval-item.is-decided:not(.kb-active)"))
      .filter(function (card) { return !draftOf(card) && !card.contains(document.activeElement); });
    if (!left.length) { return; }
    left.forEach(function (card) { card.remove(); });
    changed();
  });

  // ---- Confirming an approval in a dialog ---------------------------------------------------------
  var pending = null;  // the request waiting for the dialog's answer
  document.addEventListener("htmx:confirm", function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.closest && elt.closest(".is-decided")) { evt.preventDefault(); return; }  // decided elsewhere
    var question = elt && elt.dataset && elt.dataset.confirm;
    var dialog = document.getElementById("approve-confirm");
    if (!question || !dialog) { return; }
    evt.preventDefault();
    if (dialog.open) { return; }
    pending = evt.detail.issueRequest;
    document.getElementById("approve-confirm-question").textContent = question;
    document.getElementById("approve-confirm-ok").textContent = elt.dataset.confirmButton || "Approve";
    dialog.returnValue = "";
    dialog.showModal();
  });
  document.addEventListener("close", function (evt) {
    if (!evt.target || evt.target.id !== "approve-confirm") { return; }
    var go = pending;
    pending = null;
    if (go && evt.target.returnValue === "confirm") { go(true); }
  }, true);
  // While the dialog is open the page's shortcuts (j/k/a/r/Enter in app.js) must not act behind it;
  // the keys' own defaults (Enter/Space press the focused button, Esc cancels, Tab) still apply.
  window.addEventListener("keydown", function (evt) {
    var dialog = document.getElementById("approve-confirm");
    if (dialog && dialog.open) { evt.stopPropagation(); }
  }, true);
})();
