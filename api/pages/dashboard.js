"use strict";
const $ = (id) => document.getElementById(id);
$("apikey").value = sessionStorage.getItem("guardid.key") || "";
$("filters").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  sessionStorage.setItem("guardid.key", $("apikey").value);
  const q = new URLSearchParams();
  for (const k of ["date", "district", "employer_type"]) if ($(k).value) q.set(k, $(k).value);
  const r = await fetch("/reports/dashboard.html?" + q, {
    headers: { Authorization: "Bearer " + $("apikey").value.trim() } });
  const el = $("content");
  if (!r.ok) { el.textContent = "拒绝 refused: " + (await r.json()).message; return; }
  // The fragment is rendered and escaped by the server; it carries no scripts.
  el.innerHTML = await r.text();
  el.className = "";
  el.dataset.loaded = "true";
});
