"use strict";
const $ = (id) => document.getElementById(id);
// What a biometric no-match leads to: recapture on the spot, then a supervisor's review.
const MISMATCH = () => ({
  recapture: L("请重新采集", "recapture"), cleared: L("重新采集后一致，不记录违规", "cleared: nothing recorded"),
  suspected: L("已记为疑似人证不符，待主管确认，尚不计为违规", "suspected: a supervisor decides"),
});
// The server's next step ("no match, recapture (attempt 2 of 3)") in the page's language.
function nextStep(body) {
  const m = /attempt (\d+) of (\d+)/.exec(body.next_step || "");
  if (lang() === "en" || !m) return MISMATCH()[body.mismatch_status] + " · " + (body.next_step || "");
  return MISMATCH()[body.mismatch_status] + `（第 ${m[1]} 次，共 ${m[2]} 次）`;
}
let recapture = null;  // {case, doc}: the mismatch case the next check continues
const docOf = () => $("token").value.trim() || $("number").value.trim();
$("apikey").value = sessionStorage.getItem("guardid.key") || "";
$("apikey").addEventListener("change", () => sessionStorage.setItem("guardid.key", $("apikey").value));
const headers = () => ({ Authorization: "Bearer " + $("apikey").value.trim() });

function b64u(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
function canonical(v) {  // the same compact, key-sorted JSON the server signs
  if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
  if (v && typeof v === "object")
    return "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canonical(v[k])).join(",") + "}";
  return JSON.stringify(v);
}
async function edVerify(pub, sig, bytes) {
  const key = await crypto.subtle.importKey("raw", b64u(pub), { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, sig, bytes);
}
async function getJSON(path) {
  const r = await fetch(path, { headers: headers() });
  const body = await r.json();
  if (!r.ok) throw new Error(errorText(body, r.status));
  return body;
}
$("sync").addEventListener("click", async () => {
  try {
    const keys = (await getJSON("/certificates/keys")).keys;
    const pubs = Object.fromEntries(keys.map((k) => [k.kid, k.public_key]));
    const state = JSON.parse(localStorage.getItem("guardid.revocations") || '{"until":0,"status":{}}');
    for (;;) {
      const page = await getJSON("/certificates/revocations?since=" + state.until);
      const { signature, ...body } = page;
      if (!pubs[page.kid] || !(await edVerify(pubs[page.kid], b64u(signature),
                                              new TextEncoder().encode(canonical(body)))))
        throw new Error(L("吊销列表签名无效", "revocation list signature does not verify"));
      for (const e of page.entries) {
        if (e.status === "valid") delete state.status[e.number]; else state.status[e.number] = e.status;
      }
      state.until = page.until;
      if (page.complete) break;
    }
    localStorage.setItem("guardid.keys", JSON.stringify(pubs));
    localStorage.setItem("guardid.revocations", JSON.stringify(state));
    const bad = Object.keys(state.status).length;
    $("sync-status").textContent = L(`已同步：公钥 ${keys.length} 个，失效证件 ${bad} 个`,
                                     `synced: ${keys.length} keys, ${bad} not valid`);
  } catch (e) { $("sync-status").textContent = L("同步失败：", "sync failed: ") + e.message; }
});
async function offlineVerify(token) {
  const pubs = JSON.parse(localStorage.getItem("guardid.keys") || "{}");
  const status = JSON.parse(localStorage.getItem("guardid.revocations") || '{"status":{}}').status;
  const parts = token.trim().split(".");
  if (parts.length !== 3 || parts[0] !== "GC1") return { valid: false, reason: "malformed" };
  const payload = JSON.parse(new TextDecoder().decode(b64u(parts[1])));
  if (!pubs[payload.kid]) return { valid: false, reason: "unknown_key", payload };
  const ok = await edVerify(pubs[payload.kid], b64u(parts[2]),
                            new TextEncoder().encode(parts[0] + "." + parts[1]));
  if (!ok) return { valid: false, reason: "bad_signature", payload };
  if (status[payload.cn]) return { valid: false, reason: status[payload.cn], payload };
  if (Date.now() / 1000 >= payload.exp) return { valid: false, reason: "expired", payload };
  return { valid: true, reason: "ok", payload };
}
$("qr").addEventListener("change", async () => {
  const file = $("qr").files[0];
  if (!file) return;
  if (!("BarcodeDetector" in window)) {
    $("offline-result").textContent = L("此浏览器不能扫码，请粘贴内容", "no QR scanning here: paste the token");
    return;
  }
  const codes = await new BarcodeDetector({ formats: ["qr_code"] }).detect(await createImageBitmap(file));
  if (codes.length) $("token").value = codes[0].rawValue;
});
$("offline").addEventListener("click", async () => {
  const r = await offlineVerify($("token").value);
  const el = $("offline-result");
  el.className = r.valid ? "ok" : "bad";
  el.dataset.reason = r.reason;
  const REASONS = { malformed: L("格式错误", "malformed"), unknown_key: L("未知签发密钥", "unknown key"),
    bad_signature: L("签名无效", "bad signature"), revoked: L("已吊销", "revoked"),
    suspended: L("已暂扣", "suspended"), expired: L("已过期", "expired") };
  el.textContent = (r.valid ? L("有效", "VALID") : L("无效（", "INVALID (") + (REASONS[r.reason] || r.reason) + L("）", ")")) +
    (r.payload ? " · " + r.payload.cn + " " + r.payload.nm + " " + (r.payload.emp || "") : "");
  if (r.payload && !$("number").value) $("number").value = r.payload.cn;
});
$("verify").addEventListener("click", async () => {
  const form = new FormData();
  if ($("token").value.trim()) form.append("token", $("token").value.trim());
  else if ($("number").value.trim()) form.append("certificate_number", $("number").value.trim());
  if ($("site").value.trim()) form.append("site", $("site").value.trim());
  if ($("face").files[0]) form.append("face", $("face").files[0]);
  if ($("finger").files[0]) form.append("finger", $("finger").files[0]);
  if ($("finger").files[0] && $("finger-position").value)
    form.append("finger_position", $("finger-position").value);
  if (recapture && recapture.doc === docOf()) form.append("recapture_of", recapture.case);
  const el = $("result");
  el.textContent = L("核验中…", "checking…");
  el.className = "";
  delete el.dataset.outcome;
  $("holder").hidden = true;
  $("filed").textContent = "";
  const r = await fetch("/inspections/verify", { method: "POST", headers: headers(), body: form });
  const body = await r.json();
  if (!r.ok) {
    if (body.code === "recapture_refused") recapture = null;  // the next check starts afresh
    el.className = "bad";
    el.dataset.outcome = "error:" + body.code;
    el.textContent = L("请求被拒绝：", "refused: ") + errorText(body, r.status);
    return;
  }
  recapture = body.mismatch_status === "recapture"
    ? { case: body.mismatch_case_id, doc: docOf() } : null;
  el.dataset.mismatch = body.mismatch_status || "";
  el.className = body.outcome === "match" ? "ok" : "bad";
  el.dataset.outcome = body.outcome;
  const scores = [[L("人脸", "face"), body.face_score], [L("指纹", "finger"), body.finger_score]]
    .filter(([, s]) => s !== null).map(([n, s]) => n + " " + s.toFixed(3)).join(" · ");
  el.innerHTML = "";
  const strong = document.createElement("strong");
  strong.textContent = outcomeText(body.outcome);
  el.append(strong, document.createElement("br"),
            L("证号 ", "certificate ") + (body.certificate_number || "—") + (scores ? " · " + scores : ""));
  if (body.mismatch_status) {
    const step = document.createElement("div");
    step.id = "next-step";
    step.textContent = nextStep(body);
    el.append(step);
  }
  filed(body);
  if (body.guard_id !== null) showHolder(body.check_id);
  if (body.failed_checks.length > 1) {
    el.append(document.createElement("br"), L("其他问题：", "other problems: ") + body.failed_checks.slice(1)
      .map(outcomeText).join(L("，", ", ")));
  }
});
// What was put on record by this check, in words.
function filed(body) {
  const at = body.at.slice(0, 16).replace("T", " ") + " UTC";
  const parts = [L(`已记录核验 #${body.check_id}（${at}）`, `check #${body.check_id} recorded ${at}`)];
  if (body.violation_ids.length)
    parts.push(L("已立违规记录 #", "violation filed: #") + body.violation_ids.join(", #"));
  if (body.mismatch_status === "suspected")
    parts.push(L(`已提交疑似人证不符 #${body.mismatch_case_id}，待主管确认`,
                 `suspected mismatch #${body.mismatch_case_id} filed for a supervisor`));
  else if (body.mismatch_status === "recapture")
    parts.push(L("未记违规，等待重新采集", "nothing filed yet: recapture"));
  else if (!body.violation_ids.length) parts.push(L("未记违规", "no violation filed"));
  $("filed").textContent = parts.join(" · ");
  $("filed").dataset.violations = body.violation_ids.join(",");
  $("filed").dataset.mismatch = body.mismatch_status === "suspected" ? String(body.mismatch_case_id) : "";
}
// The certificate holder as registered (own-district guards only), beside the decision.
async function showHolder(checkId) {
  const r = await fetch("/inspections/" + checkId + "/holder", { headers: headers() });
  if (!r.ok) return;  // another district's guard: minimal disclosure, nothing to show
  const h = await r.json();
  $("holder-name").textContent = h.name + " · " + (h.certificate_number || "");
  $("holder-employer").textContent = L("用人单位：", "employer: ") + (h.employer || L("无", "none"));
  $("holder-post").textContent = L("登记岗位：", "post: ") + (h.post_site || "—");
  $("holder").dataset.guard = h.guard_id;
  $("holder").hidden = false;
  $("holder-photo").removeAttribute("src");
  if (h.photo) {
    const p = await fetch(h.photo, { headers: headers() });
    if (p.ok) $("holder-photo").src = URL.createObjectURL(await p.blob());
  }
}
