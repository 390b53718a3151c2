// The signing ceremony: log a deal, see it in the session total (read-your-writes through
// min_position), void one with a reason. A retry after a lost answer reuses the event_id.
import {
  fetchWithin,
  lang,
  load,
  postToIngest,
  problemText,
  save,
  texts,
  uuid,
} from "/static/client.js";
import { device, sessionId } from "/static/device.js";
import { fenOf, formatMoney, formatYuanExact, joined } from "/static/format.js";

const KINDS = ["contract", "agreement", "intent"];
const TEXT = {
  zh: {
    page_title: "签约仪式",
    title: "签约仪式",
    change_token: "更换令牌",
    setup_title: "设置这台签约设备",
    token: "签约令牌",
    save: "保存",
    new_deal: "登记签约项目",
    deal_id: "项目编号",
    deal_title: "项目名称",
    kind: "类型",
    kinds: { contract: "合同", agreement: "协议", intent: "意向" },
    amount: "金额",
    currency: "币种",
    fx_rate: "兑人民币汇率",
    counterparty: "签约方",
    counterparty_country: "签约方国家/地区",
    sector: "行业",
    exhibitor: "参展企业",
    no_exhibitor: "（未注明）",
    submit: "登记并确认",
    session_total: "本届签约总计",
    deals_unit: "个项目",
    logged_here: "本设备登记的项目",
    void_title: "撤销签约项目",
    void_reason: "撤销原因",
    cancel: "取消",
    void: "撤销",
    voided: "已撤销",
    waiting: "正在等待总计更新…",
    confirmed: (id) => `已计入总计：${id}`,
    voided_note: (id) => `已从总计中撤销：${id}`,
    late: "总计暂未更新，稍后会自动刷新",
    offline: "无法连接服务器。再次提交即可重试，不会重复计数。",
    need_fx: "币种不是人民币时须填写汇率",
    bad_amount: "金额须为数字，最多两位小数，例如 1850000000.00",
    token_refused: "令牌无效或已被撤销，请重新输入。",
    none: "尚未登记",
  },
  en: {
    page_title: "Signing ceremony",
    title: "Signing ceremony",
    change_token: "Change token",
    setup_title: "Set up this ceremony device",
    token: "Ceremony token",
    save: "Save",
    new_deal: "Log a signed deal",
    deal_id: "Deal id",
    deal_title: "Title",
    kind: "Kind",
    kinds: { contract: "Contract", agreement: "Agreement", intent: "Intent" },
    amount: "Amount",
    currency: "Currency",
    fx_rate: "Rate to CNY",
    counterparty: "Counterparty",
    counterparty_country: "Counterparty country",
    sector: "Sector",
    exhibitor: "Exhibitor",
    no_exhibitor: "(not given)",
    submit: "Log and confirm",
    session_total: "This edition's deals",
    deals_unit: "deals",
    logged_here: "Deals logged on this device",
    void_title: "Void a deal",
    void_reason: "Reason",
    cancel: "Cancel",
    void: "Void",
    voided: "voided",
    waiting: "waiting for the total…",
    confirmed: (id) => `in the total: ${id}`,
    voided_note: (id) => `voided in the total: ${id}`,
    late: "The total has not caught up yet; it refreshes by itself",
    offline: "Cannot reach the server. Submit again to retry; it is counted once.",
    need_fx: "A rate to CNY is needed when the currency is not CNY",
    bad_amount: "Amount must be a number with at most two decimals, e.g. 1850000000.00",
    token_refused: "The token was refused. Enter a valid one.",
    none: "none yet",
  },
};
const T = texts(TEXT);
const KEY = { token: "expo-tally.ceremony.token", deals: `expo-tally.ceremony.deals.${sessionId}` };
const $ = (id) => document.getElementById(id);
const deals = load(KEY.deals, []);
let pending = null; // {json, event_id}: a retry of the same deal reuses its event_id
let voiding = null;

function freshDealId() {
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "");
  return `D-${day}-${uuid().slice(0, 6).toUpperCase()}`;
}

// --- setup --------------------------------------------------------------------------

const setup = device(KEY.token, {
  work() {
    renderDeals();
    refreshTotal(null, "");
    $("title").focus();
  },
});

function post(path, body) {
  return postToIngest(path, setup.token(), body, 15);
}

// --- logging a deal -----------------------------------------------------------------

function dealBody() {
  const value = (id) => $(id).value.trim();
  const currency = value("currency").toUpperCase() || "CNY";
  const body = {
    session_id: sessionId,
    deal_id: value("deal-id"),
    title: value("title"),
    kind: value("kind"),
    amount: value("amount").replaceAll(",", ""),
    currency,
  };
  if (currency !== "CNY") body.fx_rate_to_cny = value("fx-rate");
  for (const [field, id] of [
    ["counterparty", "counterparty"],
    ["counterparty_country", "counterparty-country"],
    ["sector", "sector"],
    ["exhibitor_id", "exhibitor"],
  ]) {
    if (value(id)) body[field] = field === "counterparty_country" ? value(id).toUpperCase() : value(id);
  }
  return body;
}

function problemInForm(body) {
  if (!/^\d+(\.\d{1,2})?$/.test(body.amount)) return T.bad_amount;
  if (body.currency !== "CNY" && !/^\d+(\.\d{1,10})?$/.test(body.fx_rate_to_cny)) return T.need_fx;
  return "";
}

$("deal-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = dealBody();
  const wrong = problemInForm(body);
  $("form-message").textContent = wrong;
  if (wrong) return;
  const json = JSON.stringify(body);
  if (pending?.json !== json) pending = { json, event_id: uuid() };
  $("submit").disabled = true;
  try {
    const response = await post("/v1/deals", { ...body, event_id: pending.event_id });
    if (response.status === 202) {
      const accepted = await response.json();
      deals.unshift({ ...body, event_id: pending.event_id, voided: false, reason: "" });
      save(KEY.deals, deals);
      pending = null;
      resetForm();
      renderDeals();
      await refreshTotal(accepted.position, T.confirmed(body.deal_id));
    } else if (response.status === 401) {
      setup.showSetup(T.token_refused);
    } else {
      $("form-message").textContent = await problemText(response);
    }
  } catch {
    $("form-message").textContent = T.offline;
  } finally {
    $("submit").disabled = false;
  }
});

/** Ready for the next deal; kind, currency, the rate of the day and sector stay. */
function resetForm() {
  for (const id of ["title", "amount", "counterparty", "counterparty-country", "exhibitor"]) {
    $(id).value = "";
  }
  $("deal-id").value = freshDealId();
  $("title").focus();
}

function showFx() {
  const foreign = $("currency").value.trim().toUpperCase() !== "CNY";
  for (const node of document.querySelectorAll(".fx")) node.hidden = !foreign;
  $("fx-rate").required = foreign;
}

$("currency").addEventListener("input", showFx);

// --- the session total, read after our own write ------------------------------------

async function refreshTotal(position, confirmation, attempt = 1) {
  const total = $("total");
  total.dataset.state = position ? "waiting" : "idle";
  $("total-note").textContent = position ? T.waiting : "";
  const query = position ? `?min_position=${encodeURIComponent(position)}` : "";
  try {
    const response = await fetchWithin(
      `/v1/sessions/${encodeURIComponent(sessionId)}/totals${query}`,
      { cache: "no-store" },
      15,
    );
    if (!response.ok) {
      $("total-note").textContent = await problemText(response);
      return;
    }
    const totals = await response.json();
    const fen = fenOf(totals.current.deal_value_cny);
    $("total-deals").textContent = totals.current.deals.toLocaleString("en-US");
    $("total-value").textContent = joined(formatMoney(fen, lang));
    $("total-exact").textContent = formatYuanExact(fen);
    if (position && totals.caught_up) {
      total.dataset.state = "confirmed";
      $("total-note").textContent = confirmation;
    } else if (position) {
      $("total-note").textContent = T.late;
      if (attempt < 10) setTimeout(() => refreshTotal(position, confirmation, attempt + 1), 2000);
    }
  } catch {
    $("total-note").textContent = T.offline;
  }
}

// --- this device's deals, and voids -------------------------------------------------

function renderDeals() {
  if (deals.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = T.none;
    $("deals").replaceChildren(li);
    return;
  }
  $("deals").replaceChildren(
    ...deals.map((deal) => {
      const li = document.createElement("li");
      li.dataset.dealId = deal.deal_id;
      li.dataset.voided = String(deal.voided);
      const what = document.createElement("span");
      what.className = "what";
      what.textContent = `${deal.title} · ${deal.deal_id}`;
      const meta = document.createElement("span");
      meta.className = "meta";
      const amount = `${Number(deal.amount).toLocaleString("en-US", { minimumFractionDigits: 2 })} ${deal.currency}`;
      meta.textContent = [T.kinds[deal.kind], amount, deal.counterparty, deal.voided ? `${T.voided}: ${deal.reason}` : ""]
        .filter(Boolean)
        .join(" · ");
      li.append(what);
      if (!deal.voided) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = T.void;
        button.setAttribute("aria-label", `${T.void} ${deal.deal_id}`);
        button.addEventListener("click", () => askVoid(deal));
        li.append(button);
      }
      li.append(meta);
      return li;
    }),
  );
}

function askVoid(deal) {
  voiding = { deal, event_id: uuid() };
  $("void-what").textContent = `${deal.title} · ${deal.deal_id}`;
  $("void-reason").value = "";
  $("void-message").textContent = "";
  $("void-dialog").showModal();
  $("void-reason").focus();
}

$("void-cancel").addEventListener("click", () => $("void-dialog").close());

$("void-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const reason = $("void-reason").value.trim();
  if (!reason || !voiding) return;
  const { deal, event_id } = voiding;
  $("void-confirm").disabled = true;
  try {
    const response = await post(`/v1/deals/${encodeURIComponent(deal.deal_id)}/void`, {
      session_id: sessionId,
      reason,
      event_id,
    });
    if (response.status !== 202) {
      $("void-message").textContent = await problemText(response);
      return;
    }
    const accepted = await response.json();
    Object.assign(deal, { voided: true, reason });
    save(KEY.deals, deals);
    voiding = null;
    $("void-dialog").close();
    renderDeals();
    await refreshTotal(accepted.position, T.voided_note(deal.deal_id));
  } catch {
    $("void-message").textContent = T.offline;
  } finally {
    $("void-confirm").disabled = false;
  }
});

// --- start --------------------------------------------------------------------------

$("session").textContent = sessionId;

/** The session's registered exhibitors, to say which one signs (the list may be empty). */
async function loadExhibitors() {
  try {
    const response = await fetchWithin(`/v1/sessions/${encodeURIComponent(sessionId)}/exhibitors`, { cache: "no-store" }, 10);
    if (!response.ok) return;
    const select = $("exhibitor");
    for (const { exhibitor_id: id, name } of await response.json()) {
      const option = document.createElement("option");
      option.value = id;
      option.textContent = `${name} (${id})`;
      select.append(option);
    }
  } catch {
    // offline: deals are logged without an exhibitor until the page is opened again
  }
}
loadExhibitors();
$("kind").replaceChildren(
  ...KINDS.map((kind) => {
    const option = document.createElement("option");
    option.value = kind;
    option.textContent = T.kinds[kind];
    return option;
  }),
);
$("deal-id").value = freshDealId();
showFx();
setup.start();
