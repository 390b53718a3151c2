// The registration desk, for a keyboard-wedge badge scanner (it types the badge, then Enter).
// Every scan gets its event_id and occurred_at when it is scanned and waits in a queue in
// localStorage; the queue uploads in order, and a retry reuses the event_id, so a scan is
// counted once however often the network fails.
import { lang, load, postToIngest, problemText, save, texts, uuid } from "/static/client.js";
import { device, sessionId } from "/static/device.js";

const CATEGORIES = ["professional", "general", "exhibitor", "media", "vip", "delegate"];
const TEXT = {
  zh: {
    page_title: "签到台",
    title: "签到台",
    online: "在线",
    offline: "离线",
    queue: "待上传",
    change_token: "更换令牌",
    setup_title: "设置这台签到设备",
    token: "签到令牌",
    desk_id: "签到台编号（可选）",
    save: "保存",
    category: "观众类别",
    country: "国家/地区",
    badge: "扫描证件（回车提交）",
    badge_hint: "等待扫描…",
    ready: "请扫描证件",
    recent: "最近扫描",
    keys: "快捷键",
    entry: "入场",
    exit: "离场",
    toggle: "切换入场/离场",
    country_key: "修改国家/地区（回车返回）",
    categories: {
      professional: "专业观众",
      general: "普通观众",
      exhibitor: "参展商",
      media: "媒体",
      vip: "贵宾",
      delegate: "代表团",
    },
    status: {
      accepted: "欢迎入场",
      repeat: "再次入场",
      exit: "已离场",
      rejected: "未通过",
      queued: "已保存，联网后上传",
      sending: "正在上传…",
    },
    token_refused: "令牌无效或已被撤销，请重新输入。待上传的扫描会保留。",
    bad_country: "国家/地区须为两位字母代码，例如 CN、HK、DE",
  },
  en: {
    page_title: "Registration desk",
    title: "Registration desk",
    online: "online",
    offline: "offline",
    queue: "to upload",
    change_token: "Change token",
    setup_title: "Set up this desk",
    token: "Desk token",
    desk_id: "Desk id (optional)",
    save: "Save",
    category: "Category",
    country: "Country/region",
    badge: "Scan badge (Enter submits)",
    badge_hint: "waiting for a scan…",
    ready: "Scan a badge",
    recent: "Recent scans",
    keys: "Keys",
    entry: "Entry",
    exit: "Exit",
    toggle: "toggle entry / exit",
    country_key: "change country (Enter returns)",
    categories: {
      professional: "Professional",
      general: "General",
      exhibitor: "Exhibitor",
      media: "Media",
      vip: "VIP",
      delegate: "Delegate",
    },
    status: {
      accepted: "Welcome",
      repeat: "Repeat visit",
      exit: "Exit recorded",
      rejected: "Rejected",
      queued: "Saved — uploads when back online",
      sending: "Sending…",
    },
    token_refused: "The token was refused. Enter a valid one; queued scans are kept.",
    bad_country: "Country must be a two-letter code, e.g. CN, HK, DE",
  },
};
const T = texts(TEXT);
const KEY = {
  token: "expo-tally.desk.token",
  settings: "expo-tally.desk.settings",
  queue: "expo-tally.desk.queue",
  seen: `expo-tally.desk.seen.${sessionId}`,
};
const RETRY_MS = 3000;
const $ = (id) => document.getElementById(id);

let settings = {
  category: "general",
  country: "CN",
  direction: "entry",
  desk_id: "",
  ...load(KEY.settings, {}),
};
const seen = new Set(load(KEY.seen, []));
const recent = []; // {event_id, badge, status, detail, time}, newest first
let latest = null; // event_id of the last scan, whose answer shows big
let uploading = false;

// --- setup: the token is entered once per device ------------------------------------

const setup = device(KEY.token, {
  setup() {
    $("setup-desk").value = settings.desk_id;
  },
  saved() {
    settings.desk_id = $("setup-desk").value.trim();
    save(KEY.settings, settings);
  },
  work() {
    $("desk-name").textContent = settings.desk_id;
    render();
    refocus();
  },
  ready: upload,
});

// --- scanning -----------------------------------------------------------------------

function scan(badge) {
  const entry = settings.direction === "entry";
  const item = {
    event_id: uuid(),
    occurred_at: new Date().toISOString(),
    repeat: entry && seen.has(badge),
    body: {
      session_id: sessionId,
      attendee_id: badge,
      category: settings.category,
      country: settings.country,
      direction: settings.direction,
      ...(settings.desk_id ? { desk_id: settings.desk_id } : {}),
    },
  };
  if (entry) {
    seen.add(badge);
    save(KEY.seen, [...seen]);
  }
  save(KEY.queue, [...load(KEY.queue, []), item]);
  latest = item.event_id;
  note(item, "sending");
  upload();
}

$("scan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const badge = $("badge").value.trim();
  $("badge").value = "";
  if (badge) {
    scan(badge);
  }
});

/** Record the answer of one scan in the recent list (and big, if it is the latest). */
function note(item, status, detail = "") {
  const time = new Date(item.occurred_at).toLocaleTimeString(lang === "en" ? "en-GB" : "zh-CN");
  const found = recent.find((r) => r.event_id === item.event_id);
  const row = { event_id: item.event_id, badge: item.body.attendee_id, status, detail, time };
  if (found) {
    Object.assign(found, row);
  } else {
    recent.unshift(row);
    recent.splice(8);
  }
  render();
}

function answered(item) {
  if (item.body.direction === "exit") return "exit";
  return item.repeat ? "repeat" : "accepted";
}

// --- the queue: uploaded in order, one at a time ------------------------------------

function drop(eventId) {
  save(
    KEY.queue,
    load(KEY.queue, []).filter((item) => item.event_id !== eventId),
  );
}

/** One upload: "done" (answered, leave the queue), "retry" (keep it) or "token". */
async function send(item, token) {
  let response;
  try {
    const body = { ...item.body, event_id: item.event_id, occurred_at: item.occurred_at };
    response = await postToIngest("/v1/checkins", token, body, 10);
  } catch {
    return "retry";
  }
  if (response.status === 202) {
    note(item, answered(item));
    return "done";
  }
  if (response.status >= 500 || response.status === 408 || response.status === 429) {
    return "retry";
  }
  if (response.status === 401) {
    return "token";
  }
  note(item, "rejected", await problemText(response));
  if (item.repeat === false && item.body.direction === "entry") {
    seen.delete(item.body.attendee_id);
    save(KEY.seen, [...seen]);
  }
  return "done";
}

async function upload() {
  const token = setup.token();
  if (uploading || !token) return;
  uploading = true;
  try {
    let outcome = "done";
    while (outcome === "done") {
      const [head] = load(KEY.queue, []);
      if (!head) break;
      outcome = await send(head, token);
      if (outcome === "done") drop(head.event_id);
    }
    setOnline(outcome !== "retry");
    if (outcome === "retry") {
      for (const item of load(KEY.queue, [])) {
        const shown = recent.find((r) => r.event_id === item.event_id);
        if (shown?.status === "sending") note(item, "queued");
      }
    }
    if (outcome === "token") setup.showSetup(T.token_refused);
  } finally {
    uploading = false;
    render();
  }
}

function setOnline(online) {
  $("network").dataset.online = String(online);
  $("network").textContent = online ? T.online : T.offline;
}

setInterval(upload, RETRY_MS);
addEventListener("online", upload);
addEventListener("storage", (event) => {
  if (event.key === KEY.queue) render();
});

// --- one-key changes: F1-F6 category, F9 entry/exit, F10 country ---------------------

function setCategory(category) {
  settings.category = category;
  save(KEY.settings, settings);
  render();
}

function toggleDirection() {
  settings.direction = settings.direction === "entry" ? "exit" : "entry";
  save(KEY.settings, settings);
  render();
}

let countryTimer = 0;

function editCountry() {
  $("country").focus();
  $("country").select();
  clearTimeout(countryTimer);
  countryTimer = setTimeout(leaveCountry, 10_000);
}

function leaveCountry() {
  clearTimeout(countryTimer);
  const value = $("country").value.trim().toUpperCase();
  if (/^[A-Z]{2}$/.test(value)) {
    settings.country = value;
    save(KEY.settings, settings);
  } else {
    showResult("rejected", "", T.bad_country);
  }
  render();
  $("badge").focus();
}

document.addEventListener("keydown", (event) => {
  if ($("work").hidden) return;
  const index = ["F1", "F2", "F3", "F4", "F5", "F6"].indexOf(event.key);
  if (index >= 0) {
    event.preventDefault();
    setCategory(CATEGORIES[index]);
  } else if (event.key === "F9") {
    event.preventDefault();
    toggleDirection();
  } else if (event.key === "F10") {
    event.preventDefault();
    editCountry();
  } else if (document.activeElement === $("country") && ["Enter", "Escape"].includes(event.key)) {
    event.preventDefault();
    if (event.key === "Escape") $("country").value = settings.country;
    leaveCountry();
  }
});

$("country").addEventListener("input", () => {
  clearTimeout(countryTimer);
  countryTimer = setTimeout(leaveCountry, 10_000);
});
$("country").addEventListener("change", leaveCountry);
$("direction").addEventListener("click", toggleDirection);

/** The badge field keeps the focus, except while the country is being changed. */
function refocus() {
  if ($("work").hidden || document.activeElement === $("country")) return;
  $("badge").focus();
}

$("badge").addEventListener("blur", () => setTimeout(refocus, 0));
document.addEventListener("click", () => setTimeout(refocus, 0));
addEventListener("focus", refocus);

// --- drawing ------------------------------------------------------------------------

function showResult(status, badge, detail) {
  $("result").dataset.status = status;
  $("result-status").textContent = status === "idle" ? T.ready : T.status[status];
  $("result-badge").textContent = badge;
  $("result-detail").textContent = detail;
}

function render() {
  const queued = load(KEY.queue, []).length;
  $("queue").dataset.count = String(queued);
  $("queue-count").textContent = String(queued);
  $("direction").dataset.direction = settings.direction;
  $("direction-text").textContent = T[settings.direction];
  for (const button of $("categories").querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset.category === settings.category));
  }
  if (document.activeElement !== $("country")) $("country").value = settings.country;
  const last = recent.find((r) => r.event_id === latest);
  if (last) showResult(last.status, last.badge, last.detail);
  $("recent").replaceChildren(
    ...recent.map((r) => {
      const li = document.createElement("li");
      li.dataset.status = r.status;
      for (const [cls, text] of [
        ["time", r.time],
        ["who", r.badge],
        ["what", r.detail ? `${T.status[r.status]} — ${r.detail}` : T.status[r.status]],
      ]) {
        const span = document.createElement("span");
        span.className = cls;
        span.textContent = text;
        li.append(span);
      }
      return li;
    }),
  );
}

function build() {
  $("session").textContent = sessionId;
  const buttons = CATEGORIES.map((category, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.category = category;
    button.innerHTML = `<kbd>F${i + 1}</kbd> `;
    button.append(T.categories[category]);
    button.addEventListener("click", () => setCategory(category));
    return button;
  });
  $("categories").append(...buttons);
  const legend = [
    ...CATEGORIES.map((category, i) => [`F${i + 1}`, T.categories[category]]),
    ["F9", T.toggle],
    ["F10", T.country_key],
    ["Enter", T.badge],
  ];
  $("legend-list").replaceChildren(
    ...legend.flatMap(([key, what]) => {
      const term = document.createElement("dt");
      term.innerHTML = `<kbd>${key}</kbd>`;
      const description = document.createElement("dd");
      description.textContent = what;
      return [term, description];
    }),
  );
}

build();
setup.start();
