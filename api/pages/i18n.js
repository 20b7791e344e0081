"use strict";
// Chinese first, English on request: one language switch on every page (<select id="lang">),
// remembered in localStorage. A static element with data-en shows its Chinese text unless
// English is chosen; scripts pick a string with L("中文", "English"); a refusal from the API
// is shown by its stable code in Chinese (the server's English message in English).
const LANG_KEY = "guardid.lang";
const lang = () => (localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh");
const L = (zh, en) => (lang() === "en" ? en : zh);
const ERRORS_ZH = {
  unauthenticated: "访问密钥无效或缺失",
  too_many_auth_failures: "密钥验证失败次数过多，请稍后再试",
  forbidden: "此密钥无权执行此操作（角色或辖区不符）",
  not_found: "未找到（或不在本辖区）",
  invalid_request: "请求内容有误",
  malformed_json: "请求格式有误",
  unknown_query_parameter: "不支持的查询条件",
  search_term_required: "请输入姓名、保安员证编号或身份证号",
  invalid_id_number: "身份证号无效",
  invalid_certificate_number: "保安员证编号无效",
  bad_range: "日期范围无效",
  payload_too_large: "文件过大",
  pdf_font_missing: "服务器缺少中文字体，暂不能导出 PDF",
  recapture_refused: "此案件不能再复采",
  invalid_transition: "当前状态下不能执行此操作",
  session_closed: "采集会话已关闭",
  session_expired: "采集会话超时已关闭（采集记录已保留），请重新开始采集",
  incomplete_enrollment: "采集不完整：缺少人像或指纹",
  unknown_employer: "用人单位不存在",
  district_required: "请填写辖区或选择用人单位",
  id_number_registered_elsewhere: "此身份证号已在其他辖区登记，已转市级处理",
  image_unreadable: "无法读取图像",
  quality_rejected: "图像质量不合格，请重新采集",
  conflict: "与现有记录冲突（例如该身份证号已登记）",
  no_probe: "请提供人像照片或指纹",
  no_document: "请输入保安员证编号或电子证件",
  too_many_attempts: "采集次数已达上限",
  idempotency_key_reused: "重复提交的请求内容不一致",
  certificate_token_malformed: "电子证件内容无法识别",
  day_not_ended: "当日尚未结束，不能冻结",
  validation_failed: "内容不符合要求",
  method_not_allowed: "不支持的操作",
  unsupported_media_type: "不支持的文件类型",
};
// What a spot check decided (inspection.models.Outcome), in each language.
const OUTCOMES = {
  zh: {
    match: "通过：人证一致", no_match: "人证不一致", not_enrolled: "未采集生物特征",
    no_certificate: "无证或证号不存在", certificate_suspended: "证件已暂扣",
    certificate_revoked: "证件已吊销", certificate_invalid: "电子证无效",
    background_check_failed: "背景审查未通过", employer_unlicensed: "用人单位无资质",
    employer_unfiled: "自招单位未备案", employer_blacklisted: "用人单位在黑名单",
    not_on_duty_here: "未登记在此岗位", identified: "已识别", unknown_person: "未识别",
  },
  en: {
    match: "passed: the holder matches", no_match: "no match", not_enrolled: "no biometrics on file",
    no_certificate: "no such certificate", certificate_suspended: "certificate suspended",
    certificate_revoked: "certificate revoked", certificate_invalid: "e-certificate invalid",
    background_check_failed: "background check failed", employer_unlicensed: "employer unlicensed",
    employer_unfiled: "employer not filed", employer_blacklisted: "employer blacklisted",
    not_on_duty_here: "not registered at this post", identified: "identified", unknown_person: "unknown person",
  },
};
const outcomeText = (o) => OUTCOMES[lang()][o] || o;
// The text of a refusal: in Chinese by its code, else the server's message.
function errorText(body, status) {
  const b = body || {};
  if (lang() === "zh" && ERRORS_ZH[b.code]) return ERRORS_ZH[b.code];
  return b.message || ("HTTP " + status);
}
async function refusalText(r) {
  let body = {};
  try { body = await r.json(); } catch (e) { /* not JSON */ }
  return errorText(body, r.status);
}
function applyLang() {
  document.documentElement.lang = lang() === "en" ? "en" : "zh-CN";
  document.querySelectorAll("[data-en]").forEach((el) => {
    if (el.dataset.zh === undefined) el.dataset.zh = el.textContent;
    el.textContent = lang() === "en" ? el.dataset.en : el.dataset.zh;
  });
  document.querySelectorAll("[data-en-placeholder]").forEach((el) => {
    if (el.dataset.zhPlaceholder === undefined) el.dataset.zhPlaceholder = el.placeholder;
    el.placeholder = lang() === "en" ? el.dataset.enPlaceholder : el.dataset.zhPlaceholder;
  });
  const sw = document.getElementById("lang");
  if (sw) sw.value = lang();
}
{
  const sw = document.getElementById("lang");
  if (sw) sw.addEventListener("change", () => {
    localStorage.setItem(LANG_KEY, sw.value === "en" ? "en" : "zh");
    applyLang();
    document.dispatchEvent(new Event("guardid:lang"));
  });
  applyLang();
}
