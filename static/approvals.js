// The approver inbox (/approvals): what a reviewer is working on is never taken away by a live update.
// Loaded by templates/approvals/index.html after app.js (which owns j/k/a/r and the fade-out of
// reviews decided here) and confirm-approval.js (the high-risk confirmation). No inline scripts and no
// eval, so the strict CSP holds.
//
// - A review decided elsewhere arrives as a notice in #approval-notices (who, when). If the
//   reviewer is working on that card (a comment typed, focus inside, the j/k highlight on it, or a
//   decision of theirs in flight), the card stays in place, marked "Approved by A at 10:42", its
//   comment kept read-only (copyable) and its buttons disabled, until they dismiss it or move the
//   highlight on. An untouched card says who decided and fades out, as before.
// - A group of identical reviews does the same once all its members are decided elsewhere; until
//   then each member decided elsewhere is marked in the group's list and left out of its decision.
// - The list reloads after every change. A card still on screen is never replaced by the reload:
//   it keeps its node, its forms (a decision in flight lands on it, a pending confirmation stays
//   valid) and its comment box (the draft, the caret, the focus); what changed around them
//   (assignee, approval count, members, badges) is copied in from the fresh card. Cards that are
//   decided, fading, or worked on and no longer pending keep their place (htmx hx-preserve).
// - The reloads run one at a time, so an older answer never lands after a newer one.
// - While a decision of this reviewer is on its way, notices about that card wait for its answer:
//   the answer says what happened ("Approved by you", "3 approved"), not "decided elsewhere".
// - A group's answer says what the decision did, then fades and leaves like a single card's; the
//   reviews it refused (still pending) come back as their own card with the next reload.
(function () {
  "use strict";

  function changed() { document.dispatchEvent(new CustomEvent("athena:approvals-changed")); }

  function draftOf(card) {
    return Array.from(card.querySelectorAll(".ai-comment-box")).some(function (box) { return box.value.trim() !== ""; });
  }
  function engaged(card) {
    return draftOf(card) || card.contains(document.activeElement) || card.classList.contains("kb-active") ||
      !!card.querySelector(".htmx-request");  // a decision of this reviewer in flight lands on this card
  }
  function isDecided(card) {
    return card.classList.contains("is-decided") || !!card.querySelector(".approval-done");
  }
  function mineInFlight(card) { return !!card.querySelector("form.htmx-request"); }

  // ---- A card decided elsewhere keeps what the reviewer typed -------------------------------------
  function keepDecided(card, note) {
    if (card.classList.contains("is-decided")) { setNote(card, note); return; }
    card.classList.add("is-decided");
    [["approval", "decidedApproval"], ["approvalGroup", "decidedApprovalGroup"]].forEach(function (k) {
      if (card.dataset[k[0]]) { card.dataset[k[1]] = card.dataset[k[0]]; delete card.dataset[k[0]]; }
    });  // no more "reviewing this" presence for a decided review
    card.querySelectorAll("button, input[type=submit]").forEach(function (b) { b.disabled = true; });
    card.querySelectorAll(".ai-comment-box").forEach(function (box) {
      box.readOnly = true;
      box.removeAttribute("required");
      box.setAttribute("aria-readonly", "true");
    });
    card.querySelectorAll(".presence, .group-decided-line").forEach(function (p) { p.hidden = true; });
    // It waits no more: its clocks (app.js ticks every [data-started]) stop where the decision found
    // them, and "Waiting" reads "Waited", as on a decided review's own card.
    card.querySelectorAll("[data-started]").forEach(function (el) { el.removeAttribute("data-started"); });
    card.querySelectorAll(".ai-facts dt, .ai-facts dd > .small").forEach(function (el) {
      var word = el.textContent.trim();
      if (word === "Waiting" || word === "waiting") { el.textContent = word.slice(0, -3) + "ed"; }
    });
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
  // The reload may learn that a review left before its notice says who decided it: the notice's
  // who and when then replace the generic note.
  function setNote(card, note) {
    var old = card.querySelector(".ai-decided-banner .ai-decided");
    if (old && old.dataset.generic) { old.replaceWith(note); }
  }
  function stillPendingNote() {
    var p = document.createElement("p");
    p.className = "ai-decided";
    p.setAttribute("role", "status");
    p.dataset.generic = "1";
    p.textContent = "No longer pending here (decided, cancelled or moved): reload to see it.";
    return p;
  }

  // ---- A member of a group decided elsewhere: marked, left out of the group's decision ------------
  function relabel(group, left) {
    var count = group.querySelector(".group-count");
    if (count) { count.textContent = left + " identical review" + (left === 1 ? "" : "s"); }
    var approve = group.querySelector(".ai-approve");
    if (!approve) { return; }
    var label = "Approve all " + left;
    approve.dataset.confirmButton = label;
    if (approve.dataset.confirm) { approve.dataset.confirm = approve.dataset.confirm.replace(/all \d+/, "all " + left); }
    var button = approve.querySelector("button[type=submit]");
    if (button) { button.textContent = label; }
  }
  function groupSummary(group, last) {
    var marks = Array.from(group.querySelectorAll(".group-member[data-decided]"));
    var kinds = marks.map(function (li) { return li.dataset.decided; });
    if (kinds.every(function (k) { return k === kinds[0]; })) { return last; }  // one verdict, one person
    var p = document.createElement("p");
    p.className = "ai-decided";
    p.setAttribute("role", "status");
    var tally = {};
    kinds.forEach(function (k) { var s = k.split("|")[0]; tally[s] = (tally[s] || 0) + 1; });
    p.textContent = "All decided elsewhere: " + Object.keys(tally).map(function (s) { return tally[s] + " " + s; }).join(", ") + " (each below).";
    return p;
  }
  // A member's mark: who decided it, or "no longer pending" when the reload learnt it first (the
  // notice, arriving after, then says who).
  function markMember(li, note, status) {
    var known = li.dataset.decided && li.dataset.decided.indexOf("gone|") !== 0;
    if (known || (li.dataset.decided && status === "gone")) { return false; }
    li.classList.add("is-decided");
    li.dataset.decided = status + "|" + ((note.querySelector(".ai-decided-by") || {}).textContent || "");
    var mark = document.createElement("span");
    mark.className = "member-decided approval-" + status;
    Array.from(note.childNodes).forEach(function (n) { mark.appendChild(n.cloneNode(true)); });
    li.querySelectorAll(".presence, .member-decided").forEach(function (p) { p.hidden = true; p.textContent = ""; });
    li.appendChild(mark);
    var uuid = li.id.slice("approval-".length);
    var group = li.closest(".approval-group");
    group.querySelectorAll("input[name=approval_uuid]").forEach(function (i) { if (i.value === uuid) { i.remove(); } });
    return true;
  }
  // A line in the group's card says how many of its reviews were decided elsewhere (the list of
  // members, often folded, marks which).
  function tellDecidedMembers(group) {
    var marked = group.querySelectorAll(".group-member.is-decided").length;
    var line = group.querySelector(".group-decided-line");
    if (!marked || group.classList.contains("is-decided")) { if (line) { line.remove(); } return; }
    if (!line) {
      line = document.createElement("p");
      line.className = "group-decided-line small";
      line.setAttribute("role", "status");
      var head = group.querySelector(".ai-head");
      if (head) { head.after(line); } else { return; }
    }
    line.textContent = marked + " of them decided elsewhere, left out of this decision (marked in the list below).";
  }
  function goneNote() {
    var p = document.createElement("span");
    p.textContent = "no longer pending here";
    return p;
  }
  function applyMemberNotice(li, note, status) {
    var group = li.closest(".approval-group");
    if (!group || !markMember(li, note, status)) { return; }
    var left = group.querySelectorAll(".group-member:not(.is-decided)").length;
    tellDecidedMembers(group);
    if (left) { relabel(group, left); return; }
    if (group.querySelector(".group-member[data-decided^='gone|']")) { return; }  // the rest: who is not known yet
    relabel(group, group.querySelectorAll(".group-member").length);  // all of them were decided
    var summary = groupSummary(group, note);
    if (group.classList.contains("is-decided") || engaged(group)) { keepDecided(group, summary); return; }
    summary.classList.add("approval-done");  // untouched: says who, then fades like a single card
    summary.textContent = summary.textContent.trim().replace(/\.?$/, ".");
    group.replaceChildren(summary);
  }

  // Notices about a card whose decision (mine) is on its way wait for the answer: it replaces the
  // card's content (then they find nothing), or it was refused and they apply as usual.
  var waiting = [];
  function applyNotice(notice) {
    var card = document.getElementById("approval-" + notice.dataset.for);
    var note = notice.querySelector(".ai-decided");
    notice.remove();
    if (!card || !note || card.querySelector(".approval-done")) { return; }  // gone, or decided here
    var item = card.closest(".approval-item");
    if (item && mineInFlight(item)) { waiting.push(notice); return; }
    if (card.classList.contains("group-member")) { applyMemberNotice(card, note, notice.dataset.status); return; }
    if (card.classList.contains("is-decided") || engaged(card)) { keepDecided(card, note); return; }
    note.classList.add("approval-done");  // untouched: says who, then fades
    note.textContent = note.textContent.trim() + ".";
    card.replaceChildren(note);
  }
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var feed = evt.detail.target;
    if (!feed || feed.id !== "approval-notices") { return; }
    feed.querySelectorAll(".approval-notice").forEach(applyNotice);
  });
  document.addEventListener("htmx:afterRequest", function () {
    if (!waiting.length) { return; }
    var notices = waiting;
    waiting = [];
    notices.forEach(applyNotice);
  });

  // ---- The list reload updates the cards on screen in place ---------------------------------------
  function wire(part) {  // new markup inside a kept card: htmx attributes, presence, timers
    htmx.process(part);
    htmx.trigger(part, "htmx:load", {elt: part});
  }
  function replacePart(old, fresh) {
    if (!old || !fresh || old.contains(document.activeElement)) { return; }  // the part holding the focus stays
    var copy = document.importNode(fresh, true);
    old.querySelectorAll("details[class]").forEach(function (d) {  // what the reviewer opened stays open
      var same = copy.querySelector("details." + d.classList[0]);
      if (same) { same.open = d.open; }
    });
    old.replaceWith(copy);
    wire(copy);
  }
  function syncForm(form, fresh) {
    ["data-confirm", "data-confirm-button"].forEach(function (name) {
      var value = fresh.getAttribute(name);
      if (value === null) { form.removeAttribute(name); } else { form.setAttribute(name, value); }
    });
    form.querySelectorAll("input[type=hidden]").forEach(function (i) { i.remove(); });
    Array.from(fresh.querySelectorAll("input[type=hidden]")).reverse().forEach(function (i) {
      form.prepend(document.importNode(i, true));
    });
    var buttons = form.querySelectorAll("button"), freshButtons = fresh.querySelectorAll("button");
    freshButtons.forEach(function (fb, n) {
      var b = buttons[n];
      if (!b) { return; }
      b.textContent = fb.textContent;
      b.disabled = fb.disabled;
      ["title", "aria-describedby"].forEach(function (name) {
        var value = fb.getAttribute(name);
        if (value === null) { b.removeAttribute(name); } else { b.setAttribute(name, value); }
      });
    });
  }
  function refreshInPlace(card, fresh) {
    var active = card.classList.contains("kb-active");
    card.className = fresh.className;
    if (active) { card.classList.add("kb-active"); }
    var marked = Array.from(card.querySelectorAll(".group-member.is-decided"));
    replacePart(card.querySelector(":scope > .ai-main"), fresh.querySelector(":scope > .ai-main"));
    var list = card.querySelector(".group-members ul");
    marked.forEach(function (li) { if (list && !list.contains(li)) { list.appendChild(li); } });
    if (marked.length) { tellDecidedMembers(card); }
    var side = card.querySelector(":scope > .ai-side"), freshSide = fresh.querySelector(":scope > .ai-side");
    if (!side || !freshSide) { return; }
    replacePart(side.querySelector(":scope > .ai-facts"), freshSide.querySelector(":scope > .ai-facts"));
    var actions = side.querySelector(":scope > .ai-actions"), freshActions = freshSide.querySelector(":scope > .ai-actions");
    var forms = actions ? actions.querySelectorAll("form") : [], freshForms = freshActions ? freshActions.querySelectorAll("form") : [];
    if (forms.length === freshForms.length) {
      forms.forEach(function (form, n) { syncForm(form, freshForms[n]); });
    } else { replacePart(actions, freshActions); }
    side.querySelectorAll(":scope > .ai-blocked").forEach(function (p) { p.remove(); });
    freshSide.querySelectorAll(":scope > .ai-blocked").forEach(function (p) {
      side.appendChild(document.importNode(p, true));
    });
  }
  // A group worked on whose reviews left the group (one is left, or they moved): those still
  // pending stay in it, the others are marked; the list's own copies of them are left out.
  function keepMembers(doc, group) {
    var left = 0;
    group.querySelectorAll(".group-member:not(.is-decided)").forEach(function (li) {
      if (doc.getElementById(li.id)) { left += 1; return; }
      markMember(li, goneNote(), "gone");
    });
    tellDecidedMembers(group);
    relabel(group, left || group.querySelectorAll(".group-member").length);
    if (!left) { keepDecided(group, stillPendingNote()); }
  }
  function dropFrom(doc, el) {
    var group = el.classList.contains("group-member") && el.closest(".approval-group");
    if (group) {
      var uuid = el.id.slice("approval-".length);
      group.querySelectorAll("input[name=approval_uuid]").forEach(function (i) { if (i.value === uuid) { i.remove(); } });
    }
    el.remove();
  }
  function keepThrough(doc, card) {
    var fresh = doc.getElementById(card.id);
    if (isDecided(card)) { return true; }
    if (fresh && fresh.classList.contains("approval-item")) { refreshInPlace(card, fresh); return true; }
    if (!engaged(card)) { return false; }  // untouched and no longer listed: it goes
    if (mineInFlight(card)) { return true; }  // my decision's answer will say what happened
    if (card.classList.contains("approval-group")) { keepMembers(doc, card); } else if (!fresh) {
      keepDecided(card, stillPendingNote());
    }
    return true;
  }
  function placeholderFor(doc, card) {
    var ph = doc.createElement("article");
    ph.id = card.id;
    ph.className = "approval-item";
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
  function placeIn(doc, card) {
    var ph = placeholderFor(doc, card);
    var fresh = doc.getElementById(card.id);
    if (fresh && fresh.classList.contains("approval-item")) { fresh.replaceWith(ph); } else {
      if (fresh) { dropFrom(doc, fresh); }  // a kept review the list now shows inside a group
      insertInOrder(doc, card, ph);
    }
    card.querySelectorAll(".group-member[id]").forEach(function (li) {  // no id twice on the page
      var copy = doc.getElementById(li.id);
      if (copy) { dropFrom(doc, copy); }
    });
  }
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || target.id !== "approvals-list" || !evt.detail.shouldSwap || evt.detail.isError) { return; }
    var cards = Array.from(target.querySelectorAll("#approval-items > .approval-item"));
    if (!cards.length) { return; }
    var doc = new DOMParser().parseFromString(evt.detail.serverResponse, "text/html");
    if (!doc.getElementById("approvals-list")) { return; }
    var kept = cards.filter(function (card) { return keepThrough(doc, card); });
    if (!kept.length) { return; }
    kept.forEach(function (card) { placeIn(doc, card); });
    evt.detail.serverResponse = doc.body.innerHTML;
  });

  // ---- One list reload at a time -------------------------------------------------------------
  // Every change pushes a reload (#approvals-refresh, hx-trigger="load"). Two in flight may answer
  // in any order, and both target the list element that was on the page when they started: the
  // later answer lands on a detached list, where htmx still takes every hx-preserve element it
  // names (the comment boxes, drafts and all) out of the live page and drops them, and none of our
  // listeners sees it (the events never reach the document). So the reloads run one at a time; a
  // change arriving meanwhile asks for one more once the current one has landed.
  var reloading = 0, again = null, lastUrl = null;
  function reload(url) {
    lastUrl = url;
    if (reloading && Date.now() - reloading < 20000) { again = url; return; }  // (a lost answer frees it)
    reloading = Date.now();
    htmx.ajax("GET", url, {target: "#approvals-list", swap: "outerHTML"}).then(reloaded, reloaded);
  }
  function reloaded() {
    reloading = 0;
    if (again) { var url = again; again = null; reload(url); }
  }
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!elt || elt.id !== "approvals-refresh") { return; }
    evt.preventDefault();
    reload(elt.getAttribute("hx-get"));
  });

  // ---- A group's answer: it says what was decided, then fades and leaves like a single card's -----
  // The card gives up the group's id: the reviews the decision refused are still pending (the
  // four-eyes rule...) and the next reload shows them as their own card instead of behind this note.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var card = evt.detail.target;
    if (!card || !card.classList || !card.classList.contains("approval-group") || !card.querySelector(".group-done")) { return; }
    card.id = "decided-" + card.id;
    delete card.dataset.approvalGroup;
    reload(lastUrl || location.pathname + location.search);
  });

  // ---- A card new to the page is wired by htmx only when it settles (20 ms, longer under load): a
  // submit before that (a click, or "a" right after the highlight moved onto it) would be the
  // browser's own GET of the page, losing the decision. Wire the form now and send it through htmx.
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
})();
