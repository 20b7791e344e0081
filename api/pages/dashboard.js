"use strict";
// The police dashboard: the server renders the report fragment (in the chosen language);
// the missing list is paged on the server and the guard search posts its terms (an ID
// number never goes into a URL). Everything is fetched with the user's key.
const $ = (id) => document.getElementById(id);
const headers = () => ({ Authorization: "Bearer " + $("apikey").value.trim() });
const EXT = { xlsx: "xlsx", csv: "csv", pdf: "pdf" };
const MISSING_PAGE = 20;  // rows of the missing list per page
const MISSING = () => ({ face: L("人像", "face"), fingerprints: L("指纹", "fingerprints") });
const DUTY = () => ({ on_duty: L("在岗", "on duty"), off_duty: L("待岗", "off duty"),
                      left: L("离职", "left") });
const minute = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "");
let missingOffset = 0;
let shown = false;  // whether a report has been shown (a language switch redraws it)
$("apikey").value = sessionStorage.getItem("guardid.key") || "";
function query(keys) {
  const q = new URLSearchParams();
  for (const k of keys) if ($(k).value.trim()) q.set(k, $(k).value.trim());
  return q;
}
function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  row.append(td);
}
// Districts to pick from: the ones the coverage report breaks down (a city key sees all).
function fillDistricts() {
  const names = [...document.querySelectorAll("#content svg[aria-label='districts'] text.name")]
    .map((t) => t.textContent);
  $("districts").replaceChildren(...names.map((n) => Object.assign(document.createElement("option"), { value: n })));
}
async function show() {
  sessionStorage.setItem("guardid.key", $("apikey").value);
  const q = query(["date", "district", "employer_type", "trend_start"]);
  q.set("lang", lang());
  const r = await fetch("/reports/dashboard.html?" + q, { headers: headers() });
  const el = $("content");
  if (!r.ok) { el.textContent = L("拒绝：", "refused: ") + await refusalText(r); el.className = "error"; return; }
  // The fragment is rendered and escaped by the server; it carries no scripts.
  el.innerHTML = await r.text();
  el.className = "";
  if (!$("district").value) fillDistricts();
  $("exports").hidden = false;
  $("search-box").hidden = false;
  shown = true;
  missingOffset = 0;
  await missingPage();
  el.dataset.loaded = "true";
}
// One page of who is missing a face or fingers, paged on the server.
async function missingPage() {
  const q = query(["date", "district"]);
  q.set("offset", missingOffset);
  q.set("limit", MISSING_PAGE);
  const box = $("missing-box"), body = $("missing-list").tBodies[0];
  box.dataset.loaded = "";
  const r = await fetch("/reports/missing?" + q, { headers: headers() });
  if (!r.ok) { $("missing-page").textContent = await refusalText(r); return; }
  const page = await r.json();
  body.replaceChildren(...page.items.map((m) => {
    const tr = document.createElement("tr");
    tr.dataset.guardId = m.guard_id;
    for (const v of [m.guard_id, m.name, m.district, m.employer, m.post_site,
                     m.missing.map((x) => MISSING()[x] || x).join("、"), minute(m.on_duty_since)]) cell(tr, v);
    return tr;
  }));
  const last = Math.min(page.offset + page.items.length, page.total);
  $("missing-total").textContent = page.total;
  $("missing-page").textContent = page.total
    ? L(`第 ${page.offset + 1}–${last} 条，共 ${page.total} 条`, `${page.offset + 1}–${last} of ${page.total}`)
    : L("无", "none");
  $("missing-prev").disabled = page.offset === 0;
  $("missing-next").disabled = last >= page.total;
  box.hidden = false;
  box.dataset.loaded = "true";
}
$("missing-prev").addEventListener("click", () => { missingOffset = Math.max(0, missingOffset - MISSING_PAGE); missingPage(); });
$("missing-next").addEventListener("click", () => { missingOffset += MISSING_PAGE; missingPage(); });
$("filters").addEventListener("submit", (ev) => { ev.preventDefault(); show(); });
document.addEventListener("guardid:lang", () => { if (shown) show(); });
// Guard search: the terms go in the body; the ID number is compared by its keyed hash.
$("search").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const terms = {};
  if ($("s-name").value.trim()) terms.name = $("s-name").value.trim();
  if ($("s-cert").value.trim()) terms.certificate_number = $("s-cert").value.trim();
  if ($("s-id").value.trim()) terms.id_number = $("s-id").value.trim();
  if ($("district").value.trim()) terms.district = $("district").value.trim();
  const status = $("search-status"), table = $("search-results");
  status.dataset.state = "";
  const r = await fetch("/guards/search", { method: "POST", body: JSON.stringify(terms),
    headers: { ...headers(), "Content-Type": "application/json" } });
  if (!r.ok) {
    table.hidden = true;
    status.textContent = await refusalText(r);
    status.className = "error";
    status.dataset.state = "refused";
    return;
  }
  const page = await r.json();
  table.tBodies[0].replaceChildren(...page.items.map((g) => {
    const tr = document.createElement("tr");
    tr.dataset.guardId = g.id;
    for (const v of [g.id, g.name, g.id_number_masked, g.district, g.employer_name,
                     DUTY()[g.duty_status] || g.duty_status, g.certificate_numbers.join("、")]) cell(tr, v);
    return tr;
  }));
  table.hidden = page.items.length === 0;
  status.className = "muted";
  status.textContent = page.total
    ? L(`找到 ${page.total} 人`, `${page.total} found`) + (page.total > page.items.length
      ? L(`，显示前 ${page.items.length} 人`, `, first ${page.items.length} shown`) : "")
    : L("未找到", "nobody found");
  status.dataset.state = "done";
});
// An export is fetched with the key (a plain link could not send it) and saved as a file.
document.querySelectorAll("#exports button").forEach((b) => b.addEventListener("click", async () => {
  const { report, format } = b.dataset;
  const q = query(["date", "district"]);
  q.set("format", format);
  q.set("lang", lang());  // the export in the page's language
  $("export-status").textContent = L("导出中…", "exporting…");
  const r = await fetch("/reports/" + report + "?" + q, { headers: headers() });
  if (!r.ok) { $("export-status").textContent = L("导出失败：", "export refused: ") + await refusalText(r); return; }
  const blob = await r.blob();
  const name = report + "-" + ($("district").value.trim() || "全市") + "-" +
    ($("date").value || new Date().toISOString().slice(0, 10)) + "." + EXT[format];
  const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  $("export-status").textContent = L("已导出 ", "saved ") + name + " (" + blob.size + " B)";
  $("export-status").dataset.last = name;
}));
