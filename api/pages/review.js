"use strict";
// The supervisor's two queues: possible duplicates found at enrolment (/reviews) and
// suspected mismatches found at posts (/mismatches). Evidence images are fetched with the
// user's key and shown as blob: URLs; every decision needs a reason.
const $ = (id) => document.getElementById(id);
const FINGERS = { 1: "右拇指", 2: "右食指", 3: "右中指", 4: "右环指", 5: "右小指",
                  6: "左拇指", 7: "左食指", 8: "左中指", 9: "左环指", 10: "左小指" };
const FINGERS_EN = { 1: "right thumb", 2: "right index", 3: "right middle", 4: "right ring",
                     5: "right little", 6: "left thumb", 7: "left index", 8: "left middle",
                     9: "left ring", 10: "left little" };
const MODALITY = () => ({ face: L("人脸", "face"), finger: L("指纹", "finger") });
const REVIEW_OUTCOME = () => ({ different_people: L("不同的人：准予登记", "different people: enrolled"),
                                same_person: L("同一人：阻止登记，记为疑似身份冒用", "same person: blocked") });
const MISMATCH_OUTCOME = () => ({ confirmed: L("已确认：记为冒名顶岗违规", "confirmed: violation recorded"),
                                  dismissed: L("已排除：不记录违规", "dismissed: nothing recorded") });
const REFUSED = () => ({ 401: L("密钥无效", "the key is not valid"),
                         403: L("此密钥无权处理此类事项", "this key's role may not decide these") });
$("apikey").value = sessionStorage.getItem("guardid.key") || "";
const headers = () => ({ Authorization: "Bearer " + $("apikey").value.trim() });
const when = (iso) => iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "—";
const part = (m, p) => (MODALITY()[m] || m) + (p ? " · " + ((lang() === "en" ? FINGERS_EN : FINGERS)[p] || p) : "");

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
async function refusal(r) {
  let body = {};
  try { body = await r.json(); } catch (e) { /* not JSON */ }
  return REFUSED()[r.status] || errorText(body, r.status);
}
function image(url, caption) {  // an evidence image, fetched with the key
  const fig = el("figure");
  const img = el("img");
  img.alt = caption;
  fig.append(img, el("figcaption", caption));
  if (!url) { fig.append(el("div", L("无图像", "no image on file"), "muted")); return fig; }
  fetch(url, { headers: headers() }).then(async (r) => {
    if (!r.ok) throw new Error(await refusal(r));
    img.src = URL.createObjectURL(await r.blob());
    img.dataset.loaded = "true";
  }).catch((e) => fig.append(el("div", L("图像读取失败：", "image not loaded: ") + e.message, "error")));
  return fig;
}
function decision(onDecide, choices) {  // the reason box and one button per choice
  const box = el("div", undefined, "decision");
  const reason = el("textarea");
  reason.placeholder = L("理由（必填）", "reason (required)");
  reason.className = "reason";
  const out = el("div", "", "outcome");
  box.append(reason);
  for (const [value, label, cls] of choices) {
    const b = el("button", label, cls);
    b.type = "button";
    b.dataset.decision = value;
    b.addEventListener("click", async () => {
      if (!reason.value.trim()) { out.textContent = L("请填写理由", "a reason is required"); out.className = "outcome error"; return; }
      out.textContent = L("提交中…", "saving…");
      const r = await onDecide(value, reason.value.trim());
      if (!r.ok) { out.textContent = L("未能提交：", "refused: ") + await refusal(r); out.className = "outcome error"; return; }
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
  if (!p || !p.name) { box.append(el("div", role + " · —", "muted")); return box; }
  box.dataset.guardId = p.guard_id;
  box.append(el("div", role, "muted"), el("strong", p.name, "person-name"),
             el("div", L("用人单位 ", "employer ") + (p.employer || L("无", "none")), "person-employer"),
             el("div", p.district + (p.post_site ? L(" · 岗位 ", " · post ") + p.post_site : ""), "muted"));
  return box;
}
function reviewCase(c) {
  const div = el("div", undefined, "case");
  div.dataset.caseId = c.id;
  div.dataset.status = c.status;
  div.append(el("h3", L("复核 #", "review #") + c.id + L(" · 新采集保安员 ", " · new enrolment, guard ") + c.guard_id + L(" · 开启于 ", " · opened ") + when(c.opened_at)));
  const pairs = el("div", undefined, "pairs");
  const people = c.people || {};
  const shown = new Set([c.guard_id]);
  const who = el("div", undefined, "people");
  who.append(person(people[c.guard_id], L("新采集 · 保安员 ", "new enrolment · guard ") + c.guard_id));
  for (const p of c.evidence) {
    if (!shown.has(p.guard_id)) {
      shown.add(p.guard_id);
      who.append(person(people[p.guard_id], L("已登记 · 保安员 ", "enrolled · guard ") + p.guard_id));
    }
  }
  div.append(who);
  for (const p of c.evidence) {
    const pair = el("div", undefined, "pair");
    const score = p.score === null || p.score === undefined ? "" : " · " + Number(p.score).toFixed(3);
    pair.append(image(p.new, L("新采集 · ", "new · ") + part(p.modality, p.position)),
                image(p.enrolled, L("已登记 保安员 ", "enrolled guard ") + p.guard_id + " · " + part(p.modality, p.position) + score));
    pairs.append(pair);
  }
  div.append(pairs, decision((value, reason) => post(
    "/reviews/" + c.id + "/resolve", { outcome: value, note: reason },
    (b) => REVIEW_OUTCOME()[b.status] || b.status), [
    ["different_people", L("不同的人，准予登记", "Different people"), ""],
    ["same_person", L("同一人，阻止登记", "Same person"), "danger"]]));
  return div;
}
function mismatchCase(c) {
  const div = el("div", undefined, "case");
  div.dataset.caseId = c.id;
  div.dataset.status = c.status;
  div.append(el("h3", L("疑似不符 #", "suspected mismatch #") + c.id + L(" · 证号 ", " · certificate ") + c.certificate_number + L(" · 岗位 ", " · post ") +
                (c.site || "—") + " · " + c.district + " · " + when(c.opened_at)));
  div.append(el("div", L(`核验 ${c.attempts} / ${c.max_attempts} 次 · 检查员 `, `${c.attempts} / ${c.max_attempts} attempts · inspector `) + c.inspector, "muted"));
  div.append(person({ guard_id: c.guard_id, name: c.guard_name, employer: c.employer,
                      district: c.district }, L("证件持有人 · 保安员 ", "certificate holder · guard ") + c.guard_id));
  const pairs = el("div", undefined, "pairs");
  const probes = el("div", undefined, "pair");
  for (const p of c.probes) {
    const scores = [[L("人脸", "face"), p.face_score], [L("指纹", "finger"), p.finger_score]].filter(([, s]) => s !== null)
      .map(([n, s]) => n + " " + s.toFixed(3)).join(" · ");
    probes.append(image(p.image, L(`现场第 ${p.attempt} 次`, `attempt ${p.attempt}`) + (scores ? " · " + scores : "")));
  }
  const enrolled = el("div", undefined, "pair");
  for (const e of c.enrolled) enrolled.append(image(e.image, L("已登记 · ", "enrolled · ") + part(e.modality, e.position)));
  pairs.append(probes, enrolled);
  div.append(pairs, decision((value, reason) => post(
    "/mismatches/" + c.id + "/decide", { decision: value, reason: reason },
    (b) => (MISMATCH_OUTCOME()[b.status] || b.status) + (b.violation_id ? L(" · 违规记录 #", " · violation #") + b.violation_id : "")), [
    ["confirm", L("确认冒名顶岗", "Confirm impersonation"), "danger"], ["dismiss", L("排除", "Dismiss"), ""]]));
  return div;
}
async function fill(target, count, url, pick, render) {
  const box = $(target);
  box.textContent = L("载入中…", "loading…");
  box.dataset.loaded = "";
  const r = await fetch(url, { headers: headers() });
  box.textContent = "";
  if (!r.ok) { box.append(el("p", L("无法载入：", "cannot load: ") + await refusal(r), "error")); $(count).textContent = ""; }
  else {
    const items = pick(await r.json());
    $(count).textContent = "(" + items.length + ")";
    if (!items.length) box.append(el("p", L("没有待处理事项", "nothing waiting"), "muted"));
    items.forEach((c) => box.append(render(c)));
  }
  box.dataset.loaded = "true";
}
let loaded = false;  // a language switch redraws what was loaded
function load() {
  loaded = true;
  sessionStorage.setItem("guardid.key", $("apikey").value);
  fill("reviews", "reviews-count", "/reviews", (b) => b, reviewCase);
  fill("mismatches", "mismatches-count", "/mismatches?limit=200", (b) => b.items, mismatchCase);
}
$("keyform").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
document.addEventListener("guardid:lang", () => { if (loaded) load(); });
