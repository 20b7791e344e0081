"use strict";
// The supervisor's two queues: possible duplicates found at enrolment (/reviews) and
// suspected mismatches found at posts (/mismatches). Evidence images are fetched with the
// user's key and shown as blob: URLs; every decision needs a reason.
const $ = (id) => document.getElementById(id);
const FINGERS = { 1: "右拇指", 2: "右食指", 3: "右中指", 4: "右环指", 5: "右小指",
                  6: "左拇指", 7: "左食指", 8: "左中指", 9: "左环指", 10: "左小指" };
const MODALITY = { face: "人脸 face", finger: "指纹 finger" };
const REVIEW_OUTCOME = { different_people: "不同的人：准予登记 different people: enrolled",
                         same_person: "同一人：阻止登记，记为疑似身份冒用 same person: blocked" };
const MISMATCH_OUTCOME = { confirmed: "已确认：记为冒名顶岗违规 confirmed: violation recorded",
                           dismissed: "已排除：不记录违规 dismissed: nothing recorded" };
const REFUSED = { 401: "密钥无效 the key is not valid", 403: "此密钥无权处理此类事项 this key's role may not" };
$("apikey").value = sessionStorage.getItem("guardid.key") || "";
const headers = () => ({ Authorization: "Bearer " + $("apikey").value.trim() });
const when = (iso) => iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "—";
const part = (m, p) => (MODALITY[m] || m) + (p ? " · " + (FINGERS[p] || p) : "");

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
async function refusal(r) {
  let body = {};
  try { body = await r.json(); } catch (e) { /* not JSON */ }
  return REFUSED[r.status] || (body.message || ("HTTP " + r.status));
}
function image(url, caption) {  // an evidence image, fetched with the key
  const fig = el("figure");
  const img = el("img");
  img.alt = caption;
  fig.append(img, el("figcaption", caption));
  if (!url) { fig.append(el("div", "无图像 no image on file", "muted")); return fig; }
  fetch(url, { headers: headers() }).then(async (r) => {
    if (!r.ok) throw new Error(await refusal(r));
    img.src = URL.createObjectURL(await r.blob());
    img.dataset.loaded = "true";
  }).catch((e) => fig.append(el("div", "图像读取失败 " + e.message, "error")));
  return fig;
}
function decision(onDecide, choices) {  // the reason box and one button per choice
  const box = el("div", undefined, "decision");
  const reason = el("textarea");
  reason.placeholder = "理由（必填）reason (required)";
  reason.className = "reason";
  const out = el("div", "", "outcome");
  box.append(reason);
  for (const [value, label, cls] of choices) {
    const b = el("button", label, cls);
    b.type = "button";
    b.dataset.decision = value;
    b.addEventListener("click", async () => {
      if (!reason.value.trim()) { out.textContent = "请填写理由 a reason is required"; out.className = "outcome error"; return; }
      out.textContent = "提交中 saving…";
      const r = await onDecide(value, reason.value.trim());
      if (!r.ok) { out.textContent = "未能提交 refused: " + await refusal(r); out.className = "outcome error"; return; }
      const body = await r.json();
      out.className = "outcome";
      out.textContent = body.text;
      box.querySelectorAll("button, textarea").forEach((x) => { x.disabled = true; });
      box.closest(".case").dataset.status = body.status;
    });
    box.append(b);
  }
  box.append(out);
  return box;
}
const post = async (url, payload, describe) => {
  const r = await fetch(url, { method: "POST", body: JSON.stringify(payload),
    headers: { ...headers(), "Content-Type": "application/json" } });
  if (!r.ok) return r;
  const body = await r.json();
  return { ok: true, json: async () => ({ status: body.status, text: describe(body) }) };
};
// Who a case is about, as registered: name, employer, district and post, beside the evidence.
function person(p, role) {
  const box = el("div", undefined, "person");
  if (!p) { box.append(el("div", role + " · —", "muted")); return box; }
  box.dataset.guardId = p.guard_id;
  box.append(el("div", role, "muted"), el("strong", p.name, "person-name"),
             el("div", "用人单位 " + (p.employer || "无"), "person-employer"),
             el("div", p.district + (p.post_site ? " · 岗位 " + p.post_site : ""), "muted"));
  return box;
}
function reviewCase(c) {
  const div = el("div", undefined, "case");
  div.dataset.caseId = c.id;
  div.dataset.status = c.status;
  div.append(el("h3", "复核 #" + c.id + " · 新采集 guard " + c.guard_id + " · 开启 " + when(c.opened_at)));
  const pairs = el("div", undefined, "pairs");
  const people = c.people || {};
  const shown = new Set([c.guard_id]);
  const who = el("div", undefined, "people");
  who.append(person(people[c.guard_id], "新采集 new enrolment · guard " + c.guard_id));
  for (const p of c.evidence) {
    if (!shown.has(p.guard_id)) {
      shown.add(p.guard_id);
      who.append(person(people[p.guard_id], "已登记 enrolled · guard " + p.guard_id));
    }
  }
  div.append(who);
  for (const p of c.evidence) {
    const pair = el("div", undefined, "pair");
    const score = p.score === null || p.score === undefined ? "" : " · " + Number(p.score).toFixed(3);
    pair.append(image(p.new, "新采集 new · " + part(p.modality, p.position)),
                image(p.enrolled, "已登记 guard " + p.guard_id + " · " + part(p.modality, p.position) + score));
    pairs.append(pair);
  }
  div.append(pairs, decision((value, reason) => post(
    "/reviews/" + c.id + "/resolve", { outcome: value, note: reason },
    (b) => REVIEW_OUTCOME[b.status] || b.status), [
    ["different_people", "不同的人，准予登记 Different people", ""],
    ["same_person", "同一人，阻止登记 Same person", "danger"]]));
  return div;
}
function mismatchCase(c) {
  const div = el("div", undefined, "case");
  div.dataset.caseId = c.id;
  div.dataset.status = c.status;
  div.append(el("h3", "疑似不符 #" + c.id + " · 证号 " + c.certificate_number + " · 岗位 " +
                (c.site || "—") + " · " + c.district + " · " + when(c.opened_at)));
  div.append(el("div", "核验 " + c.attempts + " / " + c.max_attempts + " 次 attempts · 检查员 " + c.inspector, "muted"));
  div.append(person({ guard_id: c.guard_id, name: c.guard_name, employer: c.employer,
                      district: c.district }, "证件持有人 certificate holder · guard " + c.guard_id));
  const pairs = el("div", undefined, "pairs");
  const probes = el("div", undefined, "pair");
  for (const p of c.probes) {
    const scores = [["人脸", p.face_score], ["指纹", p.finger_score]].filter(([, s]) => s !== null)
      .map(([n, s]) => n + " " + s.toFixed(3)).join(" · ");
    probes.append(image(p.image, "现场第" + p.attempt + "次 attempt " + p.attempt + (scores ? " · " + scores : "")));
  }
  const enrolled = el("div", undefined, "pair");
  for (const e of c.enrolled) enrolled.append(image(e.image, "已登记 enrolled · " + part(e.modality, e.position)));
  pairs.append(probes, enrolled);
  div.append(pairs, decision((value, reason) => post(
    "/mismatches/" + c.id + "/decide", { decision: value, reason: reason },
    (b) => (MISMATCH_OUTCOME[b.status] || b.status) + (b.violation_id ? " · 违规记录 #" + b.violation_id : "")), [
    ["confirm", "确认冒名顶岗 Confirm", "danger"], ["dismiss", "排除 Dismiss", ""]]));
  return div;
}
async function fill(target, count, url, pick, render) {
  const box = $(target);
  box.textContent = "载入中 loading…";
  box.dataset.loaded = "";
  const r = await fetch(url, { headers: headers() });
  box.textContent = "";
  if (!r.ok) { box.append(el("p", "无法载入 cannot load: " + await refusal(r), "error")); $(count).textContent = ""; }
  else {
    const items = pick(await r.json());
    $(count).textContent = "(" + items.length + ")";
    if (!items.length) box.append(el("p", "没有待处理事项 nothing waiting", "muted"));
    items.forEach((c) => box.append(render(c)));
  }
  box.dataset.loaded = "true";
}
$("keyform").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem("guardid.key", $("apikey").value);
  fill("reviews", "reviews-count", "/reviews", (b) => b, reviewCase);
  fill("mismatches", "mismatches-count", "/mismatches?limit=200", (b) => b.items, mismatchCase);
});
