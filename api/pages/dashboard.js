"use strict";
const $ = (id) => document.getElementById(id);
const headers = () => ({ Authorization: "Bearer " + $("apikey").value.trim() });
const EXT = { xlsx: "xlsx", csv: "csv", pdf: "pdf" };
$("apikey").value = sessionStorage.getItem("guardid.key") || "";
function query(keys) {
  const q = new URLSearchParams();
  for (const k of keys) if ($(k).value.trim()) q.set(k, $(k).value.trim());
  return q;
}
async function message(r) {
  try { return (await r.json()).message; } catch (e) { return "HTTP " + r.status; }
}
// Districts to pick from: the ones the coverage report breaks down (a city key sees all).
function fillDistricts() {
  const names = [...document.querySelectorAll("#content svg[aria-label='districts'] text.name")]
    .map((t) => t.textContent);
  $("districts").replaceChildren(...names.map((n) => Object.assign(document.createElement("option"), { value: n })));
}
$("filters").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  sessionStorage.setItem("guardid.key", $("apikey").value);
  const q = query(["date", "district", "employer_type", "trend_start"]);
  const r = await fetch("/reports/dashboard.html?" + q, { headers: headers() });
  const el = $("content");
  if (!r.ok) { el.textContent = "拒绝 refused: " + await message(r); return; }
  // The fragment is rendered and escaped by the server; it carries no scripts.
  el.innerHTML = await r.text();
  el.className = "";
  if (!$("district").value) fillDistricts();
  $("exports").hidden = false;
  el.dataset.loaded = "true";
});
// An export is fetched with the key (a plain link could not send it) and saved as a file.
document.querySelectorAll("#exports button").forEach((b) => b.addEventListener("click", async () => {
  const { report, format } = b.dataset;
  const q = query(["date", "district"]);
  q.set("format", format);
  $("export-status").textContent = "导出中 exporting…";
  const r = await fetch("/reports/" + report + "?" + q, { headers: headers() });
  if (!r.ok) { $("export-status").textContent = "导出失败 export refused: " + await message(r); return; }
  const blob = await r.blob();
  const name = report + "-" + ($("district").value.trim() || "全市") + "-" +
    ($("date").value || new Date().toISOString().slice(0, 10)) + "." + EXT[format];
  const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  $("export-status").textContent = "已导出 saved " + name + " (" + blob.size + " B)";
  $("export-status").dataset.last = name;
}));
