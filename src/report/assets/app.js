// driftd report pages: the scan page's filters. Plain DOM, no framework;
// the pages work without it (every finding is listed, the ignored and
// unconfirmed ones hidden).
"use strict";
(function () {
  const form = document.getElementById("filters");
  if (!form) return;
  const q = document.getElementById("q");
  const kind = document.getElementById("f-kind");
  const tier = document.getElementById("f-tier");
  const type = document.getElementById("f-type");
  const channel = document.getElementById("f-channel");
  const hidden = document.getElementById("f-hidden");
  const shown = document.getElementById("shown");
  const sections = Array.from(document.querySelectorAll("section.tier"));

  function apply() {
    const text = q.value.trim().toLowerCase();
    let count = 0;
    for (const section of sections) {
      const tierOk = !tier.value || section.dataset.tier === tier.value;
      let sectionRows = 0;
      for (const table of section.querySelectorAll("table.findings")) {
        const typeOk = tierOk && (!type.value || table.dataset.type === type.value);
        let tableRows = 0;
        for (const row of table.tBodies[0].rows) {
          const ok = typeOk &&
            (hidden.checked || !row.hasAttribute("data-h")) &&
            (!kind.value || row.dataset.k === kind.value) &&
            (!channel.value || row.dataset.c === channel.value) &&
            (!text || row.textContent.toLowerCase().includes(text) ||
              row.querySelector("a").getAttribute("href").toLowerCase().includes(text));
          row.hidden = !ok;
          if (ok) tableRows++;
        }
        table.hidden = tableRows === 0;
        sectionRows += tableRows;
      }
      section.hidden = sectionRows === 0;
      count += sectionRows;
    }
    shown.textContent = count + " shown";
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  for (const el of [q, kind, tier, type, channel, hidden]) {
    el.addEventListener(el === q ? "input" : "change", apply);
  }
  apply();
})();
