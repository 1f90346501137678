// The partner data page's hot-spot rebuilds (/partners/data/#rebuild): while one waits, the status is
// read again every few seconds from /partners/data/rebuild/status.json and the table and the live
// region (#rebuild-live, aria-live) are updated, and so is the line saying which hot spots are current
// (#rebuild-current: whether they include partner data), so the status changes without a reload. Values
// reach the page only as text nodes.
const section = document.getElementById("rebuild");
const rows = document.getElementById("rebuild-rows");
const live = document.getElementById("rebuild-live");
const current = document.getElementById("rebuild-current");
const EVERY_MS = Number(section?.dataset.pollMs || 3000);

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

// The current run's line, as the page's template writes it.
function showRun(run) {
  if (!current || !run) return;
  const strong = document.createElement("strong");
  strong.textContent = run.partner_data || "do not include partner data";
  current.replaceChildren(
    document.createTextNode(`The current hot spots (analysis run ${run.id}, ${run.created}) `),
    strong,
    document.createTextNode(run.partner_data ? "." : ": police records only."),
  );
}

function show(data) {
  const all = [...data.waiting, ...data.done];
  if (rows) {
    rows.replaceChildren(
      ...all.map((r) => {
        const tr = document.createElement("tr");
        tr.append(cell(r.name), cell(r.status), cell(r.finished || ""), cell(r.result || ""));
        return tr;
      }),
    );
  }
  const latest = data.waiting.length ? data.waiting[data.waiting.length - 1] : data.done[0];
  if (live && latest) {
    live.textContent = data.waiting.length
      ? `${latest.name}: ${latest.status}.`
      : `${latest.name}: ${latest.status}. The current hot spots are shown above.`;
  }
  showRun(data.run);
}

function poll() {
  fetch(section.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((r) => {
      if (!r.ok) throw new Error(`error ${r.status}`);
      return r.json();
    })
    .then((data) => {
      show(data);
      if (data.waiting.length) setTimeout(poll, EVERY_MS);
    })
    .catch((e) => {
      if (live) live.textContent = `The rebuild status could not be read (${e.message}); use Refresh status.`;
    });
}

if (section && section.dataset.statusUrl && Number(section.dataset.waiting) > 0) setTimeout(poll, EVERY_MS);
