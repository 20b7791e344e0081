"use strict";
const $ = (id) => document.getElementById(id);
const key = () => ({ Authorization: "Bearer " + $("apikey").value.trim() });
let best = null;  // the last frame that passed the gate
async function frameBlob() {
  const v = $("video"), c = $("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  c.getContext("2d").drawImage(v, 0, 0);
  return new Promise((ok) => c.toBlob(ok, "image/jpeg", 0.92));
}
async function checkFrame() {
  if (!$("video").videoWidth) return;
  const form = new FormData();
  const blob = await frameBlob();
  form.append("file", blob, "frame.jpg");
  const r = await fetch("/quality/face", { method: "POST", headers: key(), body: form });
  const v = await r.json();
  const el = $("feedback");
  if (!r.ok) { el.className = "bad"; el.textContent = v.message; return; }
  el.className = v.passed ? "ok" : "bad";
  el.dataset.passed = v.passed ? "true" : "false";
  el.textContent = v.passed ? "合格 ready (quality " + v.quality.toFixed(0) + ")"
    : v.reasons.map((x) => x.advice).join("; ");
  if (v.passed) { best = blob; $("enrol").disabled = false; }
}
// Fingerprints captured through the local agent's reader, by ISO position.
const captured = {};
for (const pos of [2, 7]) {
  $("capture" + pos).addEventListener("click", async () => {
    const el = $("fstatus" + pos);
    el.className = ""; el.dataset.state = "capturing"; el.textContent = "请按指 place the finger…";
    try {
      const r = await fetch($("agent").value.replace(/\/$/, "") + "/capture?timeout=20",
                            { method: "POST" });
      if (!r.ok) { const e = await r.json(); throw new Error(e.code + ": " + e.message); }
      captured[pos] = await r.blob();
      el.className = "ok"; el.dataset.state = "captured";
      el.textContent = "已采集 captured (" + r.headers.get("X-Resolution-PPI") + " ppi)";
    } catch (e) {
      el.className = "bad"; el.dataset.state = "error"; el.textContent = e.message;
    }
  });
}
$("start").addEventListener("click", async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
  $("video").srcObject = stream;
  setInterval(checkFrame, 1200);
});
async function post(path, body, ok = 201) {
  const r = await fetch(path, { method: "POST", headers: { ...key(), ...(body instanceof FormData
    ? {} : { "Content-Type": "application/json" }) }, body: body instanceof FormData ? body
    : JSON.stringify(body) });
  const json = await r.json();
  if (r.status !== ok) throw new Error(json.code + ": " + json.message);
  return json;
}
$("enrol").addEventListener("click", async () => {
  const out = $("result");
  try {
    const s = await post("/enrollments", { guard: { name: $("name").value,
      id_number: $("idnumber").value, district: $("district").value } });
    const face = new FormData(); face.append("file", best, "face.jpg");
    await post(`/enrollments/${s.id}/face`, face);
    for (const pos of [2, 7]) {
      const f = captured[pos] || $("finger" + pos).files[0];
      if (!f) continue;
      const form = new FormData(); form.append("file", f, "finger" + pos + ".png");
      const v = await post(`/enrollments/${s.id}/fingers/${pos}`, form);
      if (!v.passed) throw new Error("finger " + pos + ": " + v.reasons.map((x) => x.advice).join("; "));
    }
    const c = await post(`/enrollments/${s.id}/commit`, {}, 200);
    out.className = c.status === "committed" ? "ok" : "bad";
    out.dataset.status = c.status;
    out.textContent = "结果 result: " + c.status + " (guard " + c.guard_id + ")";
  } catch (e) {
    out.className = "bad"; out.dataset.status = "error"; out.textContent = e.message;
  }
});
