// Approving a high-risk review (or a group of identical reviews) asks first, in a real modal dialog
// (#approve-confirm, templates/approvals/_confirm_dialog.html) naming the title and the amount. Used by
// the inbox (templates/approvals/index.html) and the execution page (templates/executions/detail.html),
// for the button and for the keys that press it. Cancel has the focus and Esc cancels. No inline
// scripts and no eval, so the strict CSP holds.
//
// A form asks when it carries data-confirm (its question) and data-confirm-button (the OK label).
// While the dialog is open a live update may replace the form that asked (the execution page's body
// is re-rendered on every change): the answer then goes to the form now in its place (same review,
// found by its card's id), or to nothing when the review is no longer pending there.
(function () {
  "use strict";

  var pending = null;  // {go, elt, card}: the request waiting for the dialog's answer
  var confirmed = null;  // a form whose next request was already confirmed (re-sent after a swap)

  function cardOf(elt) {
    var card = elt.closest && elt.closest(".approval-item, li.approval[id]");
    return card ? card.id : null;
  }
  function formNowFor(p) {
    if (p.elt.isConnected) { return null; }
    var card = p.card && document.getElementById(p.card);
    if (!card || card.classList.contains("is-decided")) { return null; }
    var cls = Array.from(p.elt.classList).find(function (c) { return c === "ai-approve" || c === "ai-reject"; });
    return cls ? card.querySelector("form." + cls + "[hx-post]") : null;
  }

  document.addEventListener("htmx:confirm", function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.closest && elt.closest(".is-decided")) { evt.preventDefault(); return; }  // decided elsewhere
    if (elt && elt === confirmed) { confirmed = null; return; }  // already asked and answered
    var question = elt && elt.dataset && elt.dataset.confirm;
    var dialog = document.getElementById("approve-confirm");
    if (!question || !dialog) { return; }
    evt.preventDefault();
    if (dialog.open) { return; }
    pending = {go: evt.detail.issueRequest, elt: elt, card: cardOf(elt)};
    document.getElementById("approve-confirm-question").textContent = question;
    document.getElementById("approve-confirm-ok").textContent = elt.dataset.confirmButton || "Approve";
    dialog.returnValue = "";
    dialog.showModal();
  });
  document.addEventListener("close", function (evt) {
    if (!evt.target || evt.target.id !== "approve-confirm") { return; }
    var p = pending;
    pending = null;
    if (!p || evt.target.returnValue !== "confirm") { return; }
    if (p.elt.isConnected) { p.go(true); return; }
    var now = formNowFor(p);
    if (!now) { return; }
    htmx.process(now);  // a form swapped in a moment ago may not be wired yet
    confirmed = now;
    htmx.trigger(now, "submit");
  }, true);
  // While the dialog is open the page's shortcuts (j/k/a/r/Enter in app.js) must not act behind it;
  // the keys' own defaults (Enter/Space press the focused button, Esc cancels, Tab) still apply.
  window.addEventListener("keydown", function (evt) {
    var dialog = document.getElementById("approve-confirm");
    if (dialog && dialog.open) { evt.stopPropagation(); }
  }, true);
})();
