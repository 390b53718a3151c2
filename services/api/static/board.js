// The hall display board: this edition beside all editions, live over Server-Sent Events,
// with polling of the display feed (ETag/304) as the fallback and as the liveness check.
import { fetchWithin, lang, numberParam, pathId, query, texts } from "/static/client.js";
import { fenOf, formatCount, formatMoney, joined } from "/static/format.js";
import { behind, dataAge, recentRevision } from "/static/freshness.js";

const TEXT = {
  zh: {
    page_title: "展会数据看板",
    connecting: "正在连接…",
    current: (ordinal) => (ordinal ? `本届 · 第${ordinal}届` : "本届"),
    cumulative: (editions) => `历届累计 · 共${editions}届`,
    updated: (seconds) => `${seconds} 秒前更新`,
    delay_unknown: (seconds) => `${seconds} 秒前应答 · 数据延迟未知`,
    behind: (seconds) => `数据延迟 ${seconds} 秒`,
    revised: (time) => `数据已于 ${time} 修订`,
    stale: (seconds) => `数据已 ${seconds} 秒未更新，正在重新连接…`,
    never: "暂时无法连接服务器，正在重试…",
    milestone: (value) => `本届签约金额突破 ${value}！`,
    lower_bound: "（下限）",
    no_session: "尚无进行中的一届",
    unknown: "找不到这个展会",
    top_sectors: "本届签约领域 · 按金额",
    top_countries: "本届观众来源 · 按人数",
    people: "人",
  },
  en: {
    page_title: "Expo figures",
    connecting: "connecting…",
    current: (ordinal) => (ordinal ? `This edition · ${ordinal}${suffix(ordinal)}` : "This edition"),
    cumulative: (editions) => `All ${editions} editions`,
    updated: (seconds) => `updated ${seconds} s ago`,
    delay_unknown: (seconds) => `answered ${seconds} s ago · delay unknown`,
    behind: (seconds) => `Figures ${seconds} s behind`,
    revised: (time) => `revised at ${time}`,
    stale: (seconds) => `No fresh data for ${seconds} s — reconnecting…`,
    never: "Cannot reach the server — retrying…",
    milestone: (value) => `Deals this edition passed ${value}!`,
    lower_bound: "(lower bound)",
    no_session: "No edition open yet",
    unknown: "Unknown expo",
    top_sectors: "This edition's deals by sector · by value",
    top_countries: "This edition's attendees by country or region",
    people: "",
  },
};

function suffix(n) {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return "th";
  return { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
}

const FIGURES = [
  { key: "deals", zh: "签约项目", en: "Projects signed", unit: "个" },
  { key: "deal_value_cny", zh: "签约金额", en: "Deal value", money: true },
  { key: "attendees", zh: "观众", en: "Attendees", unit: "人" },
  { key: "professional_attendees", zh: "专业观众", en: "Professional attendees", unit: "人" },
  { key: "countries", zh: "国家和地区", en: "Countries and regions", unit: "个" },
  { key: "exhibitors", zh: "参展企业", en: "Exhibitors", unit: "家" },
  { key: "inside_now", zh: "此刻在馆", en: "In the halls now", unit: "人", live: true },
];

const T = texts(TEXT);
const expoId = pathId();
const refresh = numberParam("refresh", 5, 0);
const milestoneStep = fenOf(query.get("milestone_step") || "10000000000");
const ANIMATION_MS = 1000;
const openedAt = Date.now();

const state = {
  etag: null,
  // The latest answer that vouched for the figures (the feed's 200 or 304, a stream's totals
  // or heartbeat): when it arrived, and its lag_seconds (null: the API could not tell).
  lastContact: null,
  lag: null,
  feedLag: null, // the lag of the feed body the ETag names: a 304 vouches for it again
  revisions: null,
  timezone: null, // the expo's, for the time of a revision
  clockOffset: 0, // the server's clock less this screen's, from the feed's Date header
  loadingTimezone: false,
  asOf: null,
  sessionId: null,
  editions: 0,
  ordinal: null,
  dealFen: null,
  // The next figures shown are a baseline: a milestone is announced only when the board saw
  // the deal value cross it, from figures it already showed as fresh to the next ones.
  baseline: true,
  stream: null,
  streamRetryAt: 0,
  polling: false,
  lastPoll: 0,
};

/** One <dt>/<dd> pair per figure in each column (the live figure sits in the masthead);
    returns {column: {key: cell}}. */
function buildColumns() {
  const cell = (term, value) => ({ term, value, shown: null, frame: 0 });
  const live = document.querySelector('[data-figure="inside_now"]');
  const cells = { current: { inside_now: cell(live.querySelector("dt"), live.querySelector("dd")) } };
  cells.cumulative = {};
  for (const column of ["current", "cumulative"]) {
    const list = document.querySelector(`[data-column="${column}"] .figures`);
    for (const figure of FIGURES.filter((f) => !f.live)) {
      const row = document.createElement("div");
      row.className = "figure";
      row.dataset.figure = figure.key;
      const term = document.createElement("dt");
      term.textContent = figure[lang];
      const value = document.createElement("dd");
      value.innerHTML = '<span class="value">—</span><span class="unit"></span>';
      row.append(term, value);
      list.append(row);
      cells[column][figure.key] = cell(term, value);
    }
  }
  return cells;
}

const cells = buildColumns();

function formatted(figure, amount, exact) {
  if (figure.money) {
    const fen = exact ?? BigInt(Math.round(amount));
    return formatMoney(fen, lang);
  }
  const parts = formatCount(amount, lang);
  return { number: parts.number, unit: parts.unit + (lang === "zh" ? figure.unit : "") };
}

function paint(cell, parts, prefix) {
  cell.value.querySelector(".value").textContent = prefix + parts.number;
  cell.value.querySelector(".unit").textContent = parts.unit;
}

/** Count from the value on screen to the new one over about a second. */
function show(cell, figure, raw, prefix) {
  const exact = figure.money ? fenOf(raw) : null;
  const target = figure.money ? Number(exact) : Number(raw);
  cancelAnimationFrame(cell.frame);
  const from = cell.shown;
  const reduced = matchMedia("(prefers-reduced-motion: reduce)").matches;
  if (from === null || from === target || reduced) {
    cell.shown = target;
    paint(cell, formatted(figure, target, exact), prefix);
    return;
  }
  const started = performance.now();
  const step = (now) => {
    const t = Math.min(1, (now - started) / ANIMATION_MS);
    const eased = 1 - (1 - t) ** 3;
    cell.shown = from + (target - from) * eased;
    if (t < 1) {
      paint(cell, formatted(figure, cell.shown, null), prefix);
      cell.frame = requestAnimationFrame(step);
    } else {
      cell.shown = target;
      paint(cell, formatted(figure, target, exact), prefix);
    }
  };
  cell.frame = requestAnimationFrame(step);
}

function fillColumn(column, figures) {
  for (const figure of FIGURES) {
    const cell = cells[column][figure.key];
    if (!figures || !cell) {
      continue;
    }
    const inexact = figure.key === "countries" && figures.countries_exact === false;
    cell.term.innerHTML = "";
    cell.term.append(figure[lang]);
    if (inexact) {
      const note = document.createElement("span");
      note.className = "note";
      note.textContent = T.lower_bound;
      cell.term.append(note);
    }
    show(cell, figure, figures[figure.key] ?? 0, inexact ? "≥" : "");
  }
}

/** After loading, a gap, an error or a new stream the board cannot tell a crossing it saw
 * from one that happened while it was not looking: those first figures never announce. */
function rebase() {
  state.baseline = true;
}

function milestone(sessionId, dealValue, rebased) {
  const fen = fenOf(dealValue);
  const before = state.dealFen;
  const baseline = rebased || state.baseline || sessionId !== state.sessionId;
  state.dealFen = fen;
  state.baseline = false;
  if (baseline || milestoneStep <= 0n) {
    return;
  }
  const reached = fen / milestoneStep;
  if (reached > before / milestoneStep && reached > 0n) {
    const banner = document.getElementById("milestone");
    banner.textContent = T.milestone(joined(formatMoney(reached * milestoneStep, lang, true)));
    banner.hidden = false;
    clearTimeout(state.milestoneTimer);
    state.milestoneTimer = setTimeout(() => {
      banner.hidden = true;
    }, 20_000);
  }
}

/** Apply figures from either source; older figures than those shown are ignored. Figures
 * marked `baseline` (a stream's first) never announce a milestone. */
function apply(view) {
  const sameSession = view.sessionId === state.sessionId;
  if (sameSession && state.asOf && view.asOf && Date.parse(view.asOf) < Date.parse(state.asOf)) {
    return;
  }
  if (view.current) {
    milestone(view.sessionId, view.current.deal_value_cny, Boolean(view.baseline));
  }
  state.asOf = view.asOf ?? state.asOf;
  state.revisions = view.revisions;
  state.sessionId = view.sessionId;
  state.ordinal = view.ordinal;
  state.editions = Math.max(view.editions ?? state.editions, view.ordinal ?? 0);
  document.getElementById("current-title").textContent = T.current(state.ordinal);
  document.getElementById("cumulative-title").textContent = T.cumulative(state.editions);
  fillColumn("current", view.current);
  fillColumn("cumulative", view.cumulative);
}

function applyDisplay(display) {
  document.getElementById("expo-name").textContent = display.expo_name;
  document.getElementById("session-name").textContent = display.session?.name ?? T.no_session;
  apply({
    sessionId: display.session?.id ?? null,
    ordinal: display.session?.ordinal ?? null,
    asOf: display.session?.as_of ?? null,
    revisions: display.session?.revisions ?? null,
    editions: display.editions,
    current: display.current,
    cumulative: display.cumulative,
  });
}

function applyTotals(totals, baseline) {
  apply({
    baseline,
    sessionId: totals.session_id,
    ordinal: totals.ordinal,
    asOf: totals.as_of,
    revisions: totals.revisions ?? null,
    editions: state.editions,
    current: totals.current,
    cumulative: totals.cumulative,
  });
}

/** An answer vouched for the figures, `lag` seconds behind (null or absent: unknown). */
function contact(lag) {
  state.lastContact = Date.now();
  state.lag = lag ?? null;
  tick();
}

/** The server's clock, from a feed answer's Date header (whole seconds: take the middle). */
function setClock(response) {
  const date = Date.parse(response.headers.get("Date") ?? "");
  if (!Number.isNaN(date)) {
    state.clockOffset = date + 500 - Date.now();
  }
}

/** The expo's timezone, once: the time of a revision is shown in it. */
async function loadTimezone() {
  if (state.timezone || state.loadingTimezone) return;
  state.loadingTimezone = true;
  try {
    const url = `/v1/expos/${encodeURIComponent(expoId)}`;
    const response = await fetchWithin(url, { cache: "no-store" }, Math.max(2, refresh));
    if (response.ok) {
      state.timezone = (await response.json()).timezone;
      tick();
    }
  } catch {
    // tried again with the next poll
  } finally {
    state.loadingTimezone = false;
  }
}

/** The figures shown were vouched for by an answer within the stale limit. */
function showingFresh() {
  return state.lastContact !== null && Date.now() - state.lastContact <= 2 * refresh * 1000;
}

/** While the live stream delivers (totals or heartbeats), the display feed is only read
 * once a minute, to notice a newly opened session; otherwise every refresh interval. */
function streamLive() {
  const fresh = state.lastContact !== null && Date.now() - state.lastContact < 1.5 * refresh * 1000;
  return Boolean(state.stream) && state.stream.readyState === EventSource.OPEN && fresh;
}

/** The display feed: cheap (304) while nothing changed. */
async function poll() {
  loadTimezone();
  if (state.polling) return;
  if (streamLive() && Date.now() - state.lastPoll < 60_000) return;
  state.polling = true;
  state.lastPoll = Date.now();
  try {
    const headers = state.etag ? { "If-None-Match": state.etag } : {};
    const response = await fetchWithin(
      `/v1/display/${encodeURIComponent(expoId)}`,
      { headers, cache: "no-store" },
      Math.max(2, refresh),
    );
    if (response.status === 200) {
      state.etag = response.headers.get("ETag");
      const display = await response.json();
      state.feedLag = display.lag_seconds ?? null;
      applyDisplay(display);
      setClock(response);
      contact(state.feedLag);
    } else if (response.status === 304) {
      if (state.dealFen !== null) {
        state.baseline = false; // the figures shown are still current: a baseline as they are
      }
      // The body carries its lag: while events wait the lag grows and so the body changes,
      // so an unchanged body has the lag it was sent with.
      setClock(response);
      contact(state.feedLag);
    } else {
      rebase();
      if (response.status === 404) {
        document.getElementById("expo-name").textContent = `${T.unknown}: ${expoId}`;
      }
    }
  } catch {
    // the server is away: the board turns stale by itself and keeps trying
    rebase();
  } finally {
    state.polling = false;
  }
  connectStream();
}

function connectStream() {
  const sessionId = state.sessionId;
  if (state.stream && state.stream.sessionId !== sessionId) {
    closeStream();
  }
  if (!sessionId || state.stream || Date.now() < state.streamRetryAt) {
    return;
  }
  const source = new EventSource(
    `/v1/sessions/${encodeURIComponent(sessionId)}/stream?heartbeat=${Math.min(60, Math.ceil(refresh))}`,
  );
  source.sessionId = sessionId;
  // A stream's first totals may be newer than the figures shown by any step: they announce a
  // crossing only if the figures shown were fresh (the crossing happened since, in plain view).
  let first = true;
  source.addEventListener("open", () => {
    document.body.dataset.transport = "sse";
  });
  source.addEventListener("totals", (event) => {
    const totals = JSON.parse(event.data);
    applyTotals(totals, first && !showingFresh());
    first = false;
    contact(totals.lag_seconds);
  });
  source.addEventListener("heartbeat", (event) => {
    const fresh = JSON.parse(event.data);
    if ("lag_seconds" in fresh) {
      contact(fresh.lag_seconds); // `{}`: the API has not read the session yet
    }
  });
  source.addEventListener("error", () => {
    // close rather than let EventSource reconnect on its own: polling covers the gap
    closeStream();
    rebase();
    state.streamRetryAt = Date.now() + Math.max(5, 3 * refresh) * 1000;
  });
  state.stream = source;
}

function closeStream() {
  state.stream?.close();
  state.stream = null;
  document.body.dataset.transport = "poll";
}

/** The note that late events revised the figures, while the revision is under an hour old. */
function showRevision() {
  const note = document.getElementById("revised");
  const at = recentRevision(state.revisions, Date.now() + state.clockOffset, state.timezone);
  note.hidden = at === null;
  note.textContent = at === null ? "" : T.revised(at);
}

/** Once a second: the age of the figures ("updated N s ago": since the latest answer, plus
 * how far that answer lagged), the warning while they are behind, and the stale state. */
function tick() {
  const text = document.getElementById("updated-text");
  const banner = document.getElementById("stale");
  const late = document.getElementById("behind");
  showRevision();
  if (state.lastContact === null) {
    const waited = (Date.now() - openedAt) / 1000;
    if (waited > 2 * refresh) {
      document.body.dataset.state = "stale";
      banner.textContent = T.never;
      banner.hidden = false;
    }
    return;
  }
  const now = Date.now();
  const answered = Math.floor((now - state.lastContact) / 1000);
  const age = dataAge(now, state.lastContact, state.lag);
  const seconds = age === null ? answered : Math.floor(age);
  text.textContent = age === null ? T.delay_unknown(answered) : T.updated(seconds);
  const stale = !showingFresh();
  const lagging = !stale && behind(state.lag);
  document.body.dataset.state = stale ? "stale" : "live";
  document.body.dataset.freshness = age === null ? "unknown" : lagging ? "behind" : "current";
  banner.hidden = !stale;
  late.hidden = !lagging;
  if (stale) {
    banner.textContent = T.stale(seconds);
    rebase();
  }
  if (lagging) {
    late.textContent = T.behind(seconds);
  }
}

poll();
// --- the leaderboard: this edition's top sectors by value, then top countries by attendees,
// in turn below the figures ----------------------------------------------------------------

const LEADER_SECONDS = numberParam("leaders", 12, 1);
const regions = (() => {
  try {
    return new Intl.DisplayNames([lang === "en" ? "en" : "zh-CN"], { type: "region" });
  } catch {
    return null;
  }
})();
const LEADERS = [
  {
    by: "sector",
    title: () => T.top_sectors,
    name: (row) => row.key,
    value: (row) => joined(formatMoney(fenOf(row.deal_value_cny), lang)),
  },
  {
    by: "country",
    title: () => T.top_countries,
    name: (row) => regions?.of(row.key) ?? row.key,
    value: (row) => joined(formatCount(row.attendees, lang)) + T.people,
  },
];
let leaderTurn = 0;

async function rotateLeaders() {
  const panel = document.getElementById("leaders");
  if (!state.sessionId) {
    panel.hidden = true;
    return;
  }
  for (let tried = 0; tried < LEADERS.length; tried += 1) {
    const board = LEADERS[leaderTurn++ % LEADERS.length];
    const path = `/v1/sessions/${encodeURIComponent(state.sessionId)}/breakdown?by=${board.by}&limit=5`;
    let rows = [];
    try {
      const response = await fetchWithin(path, { cache: "no-store" }, 10);
      rows = response.ok ? (await response.json()).rows.filter((row) => row.part === "key") : [];
    } catch {
      rows = [];
    }
    if (rows.length) {
      document.getElementById("leaders-title").textContent = board.title();
      document.getElementById("leaders-list").replaceChildren(
        ...rows.map((row) => {
          const item = document.createElement("li");
          item.dataset.key = row.key;
          const name = document.createElement("span");
          name.className = "leader-name";
          name.textContent = board.name(row);
          const value = document.createElement("span");
          value.className = "leader-value";
          value.textContent = board.value(row);
          item.append(name, value);
          return item;
        }),
      );
      panel.dataset.by = board.by;
      panel.hidden = false;
      return;
    }
  }
  panel.hidden = true;
}

setTimeout(rotateLeaders, 1000);
setInterval(rotateLeaders, LEADER_SECONDS * 1000);
setInterval(poll, refresh * 1000);
setInterval(tick, 1000);
