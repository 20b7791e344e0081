"use strict";
const $ = (id) => document.getElementById(id);
const key = () => ({ Authorization: "Bearer " + $("apikey").value.trim() });
let best = null;  // the last frame that passed the gate
// The employers a guard may be registered with: those of the district typed (or all the
// key may see), so the guard is saved with an employer and counted in coverage.
async function loadEmployers() {
  const el = $("employers-status"), sel = $("employer");
  if (!$("apikey").value.trim()) return;
  const q = new URLSearchParams({ limit: "500" });
  if ($("district").value.trim()) q.set("district", $("district").value.trim());
  const r = await fetch("/organisations?" + q, { headers: key() });
  const body = await r.json();
  if (!r.ok) { el.className = "bad"; el.textContent = errorText(body, r.status); return; }
  const keep = sel.value;
  sel.replaceChildren(new Option(L("— 选择用人单位 —", "— choose the employer —"), ""),
                      ...body.items.map((o) => new Option(o.name + " (" + o.district + ")", o.id)));
  if (body.items.some((o) => String(o.id) === keep)) sel.value = keep;
  el.className = ""; el.dataset.count = body.items.length;
  el.textContent = body.items.length ? "" : L("本辖区无登记单位", "no employer registered here");
}
// A visit's server session is remembered until it ends, so one left open (the tab closed,
// the machine restarted) is closed the next time a key is entered here.
const OPEN_SESSION = "guardid.station.open";
async function closeStale() {
  const id = localStorage.getItem(OPEN_SESSION);
  if (!id || !$("apikey").value.trim()) return;
  const r = await fetch(`/enrollments/${id}/abandon`, { method: "POST", headers: { ...key(),
    "Content-Type": "application/json" }, body: JSON.stringify({ reason: "left open by an earlier visit" }) });
  if (r.ok || r.status === 404) {
    localStorage.removeItem(OPEN_SESSION);
    $("result").textContent = L(`已关闭上次未完成的采集会话 #${id}`, `closed session #${id} left open by an earlier visit`);
    $("result").dataset.stale = "closed";
  }
}
$("apikey").addEventListener("change", loadEmployers);
$("apikey").addEventListener("change", closeStale);
$("district").addEventListener("change", loadEmployers);
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
  if (!r.ok) { el.className = "bad"; el.textContent = errorText(v, r.status); return; }
  el.className = v.passed ? "ok" : "bad";
  el.dataset.passed = v.passed ? "true" : "false";
  el.textContent = v.passed ? L("合格（质量 ", "ready (quality ") + v.quality.toFixed(0) + L("）", ")")
    : v.reasons.map((x) => x.advice).join("; ");
  if (v.passed) { best = blob; $("enrol").disabled = false; }
}
// The reader agent's refusals, in words.
const READER = {
  device_not_connected: "指纹仪未连接：请检查 USB 连接后重试",
  capture_timeout: "未检测到手指：请在指纹仪上按压手指后重试",
  device_busy: "指纹仪正忙：请稍后重试",
  origin_not_allowed: "本机代理拒绝了此页面：请用 --server 指向本服务器启动代理",
};
// Fingerprints captured through the local agent's reader, by ISO position.
const captured = {};
$("position2").value = "2";
$("position7").value = "7";
for (const pos of [2, 7]) {
  $("capture" + pos).addEventListener("click", async () => {
    const el = $("fstatus" + pos);
    el.className = ""; el.dataset.state = "capturing"; el.textContent = L("请按指…", "place the finger…");
    const agent = $("agent").value.replace(/\/$/, "");
    try {
      let r;
      try {
        r = await fetch(agent + "/capture?timeout=20", { method: "POST" });
      } catch (e) {  // the browser says only "Failed to fetch": say what it means
        throw new Error(L("无法连接本机指纹仪代理 " + agent + "：请确认已运行 guardid station reader，且地址正确",
                          "cannot reach the local reader agent at " + agent + ": is guardid station reader running there?"));
      }
      if (!r.ok) { const e = await r.json(); throw new Error(READER[e.code] ? L(READER[e.code], e.message) : errorText(e, r.status)); }
      captured[pos] = await r.blob();
      el.className = "ok"; el.dataset.state = "captured";
      el.textContent = L("已采集（", "captured (") + r.headers.get("X-Resolution-PPI") + " ppi" + L("）", ")");
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
  if (r.status !== ok) throw new Error(errorText(json, r.status));
  return json;
}
// What the commit did, and what happens next, in words.
function outcome(c) {
  if (c.status === "committed")
    return L(`已登记：保安员 ${c.guard_id} 的人像和指纹已存档，可计入采集率。`,
             `enrolled: guard ${c.guard_id}'s face and fingerprints are on file and counted.`);
  if (c.status === "review") {
    const other = c.candidates.length ? c.candidates[0].guard_id : "?";
    return L(`可能与保安员 ${other} 重复：已开启复核案件 ${c.review_case_id}；主管决定前该保安员不会被登记。`,
             `possible duplicate of guard ${other}: review case ${c.review_case_id} opened; the guard is not enrolled until a supervisor decides.`);
  }
  return L("未登记：", "not enrolled: ") + c.status;
}
$("enrol").addEventListener("click", async () => {
  const out = $("result");
  let s = null;  // the server session, closed again when this visit fails
  try {
    const guard = { name: $("name").value, id_number: $("idnumber").value,
                    duty_status: $("duty").value };
    if ($("district").value.trim()) guard.district = $("district").value.trim();
    if ($("employer").value) guard.employer_id = Number($("employer").value);
    if ($("post").value.trim()) guard.post_site = $("post").value.trim();
    s = await post("/enrollments", { guard });
    localStorage.setItem(OPEN_SESSION, s.id);
    const face = new FormData(); face.append("file", best, "face.jpg");
    await post(`/enrollments/${s.id}/face`, face);
    for (const slot of [2, 7]) {  // each slot's finger, at the position picked for it
      const f = captured[slot] || $("finger" + slot).files[0];
      if (!f) continue;
      const pos = $("position" + slot).value;
      const form = new FormData(); form.append("file", f, "finger" + pos + ".png");
      const v = await post(`/enrollments/${s.id}/fingers/${pos}`, form);
      if (!v.passed) throw new Error(L("指纹 ", "finger ") + $("position" + slot).selectedOptions[0].textContent + L("：", ": ") + v.reasons.map((x) => x.advice).join("; "));
    }
    if ($("exc-position").value)  // a finger that cannot be given: recorded for a supervisor
      await post(`/enrollments/${s.id}/fingers/${$("exc-position").value}/exception`,
                 { reason_code: $("exc-reason").value });
    const c = await post(`/enrollments/${s.id}/commit`, {}, 200);
    out.className = c.status === "committed" ? "ok" : "bad";
    out.dataset.status = c.status;
    localStorage.removeItem(OPEN_SESSION);
    out.dataset.guardId = c.guard_id;
    out.textContent = outcome(c);
    // the next person starts with no fingers and no exception of this one
    for (const k of Object.keys(captured)) delete captured[k];
    for (const slot of [2, 7]) { $("finger" + slot).value = ""; $("fstatus" + slot).textContent = ""; }
    $("exc-position").value = "";
  } catch (e) {
    out.className = "bad"; out.dataset.status = "error";
    out.textContent = L("未登记：", "not enrolled: ") + e.message;
    if (s) {  // never leave a stale session open on the server
      await fetch(`/enrollments/${s.id}/abandon`, { method: "POST", headers: { ...key(),
        "Content-Type": "application/json" }, body: JSON.stringify({ reason: "refused at the station page" }) });
      localStorage.removeItem(OPEN_SESSION);
      out.textContent += L("（本次采集会话已关闭，请修正后重新提交）", " (this session was closed; fix it and submit again)");
    }
  }
});
