// Observers for bench/list_cls.py and tests/browser/test_list_still.py: layout shifts (not after
// input), row replacements and insertions in #execution-rows, htmx:oobErrorNoTarget events.
() => {
  const m = { cls: 0, shifts: 0, biggest: [], replaced: 0, inserted: 0, noTarget: 0 };
  window.__still = m;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.hadRecentInput) continue;
      m.cls += e.value; m.shifts += 1;
      const where = (e.sources || []).map((s) => {
        const el = s.node && (s.node.nodeType === 1 ? s.node : s.node.parentElement);
        return (el ? el.id || el.className || el.nodeName : "?") + ":" + Math.round(s.previousRect.y) + ">" + Math.round(s.currentRect.y);
      });
      m.biggest.push([e.value, where.join(" ")]);
    }
  }).observe({ type: "layout-shift" });
  const seen = new Set(Array.from(document.querySelectorAll("#execution-rows tr")).map((tr) => tr.id));
  new MutationObserver((records) => {
    for (const r of records) {
      for (const n of r.addedNodes) {
        if (n.nodeName !== "TR" || !n.id) continue;
        if (seen.has(n.id)) { m.replaced += 1; } else { m.inserted += 1; seen.add(n.id); }
      }
    }
  }).observe(document.getElementById("execution-rows"), { childList: true });
  document.addEventListener("htmx:oobErrorNoTarget", () => { m.noTarget += 1; });
}
