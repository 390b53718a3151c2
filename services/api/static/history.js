// The history of an expo: cumulative figures edition by edition, and this edition hour by
// hour beside the previous one at the same point of its run (day 2, 14:00). Charts by uPlot
// (vendored, /static/uplot.js); the exact figures are in the table below them.
import { fetchWithin, lang, pathId, problemText, texts } from "/static/client.js";
import { fenOf, formatCount, formatMoney, formatYuanExact, joined } from "/static/format.js";

const TEXT = {
  zh: {
    page_title: "历届数据",
    subtitle: "历届数据",
    editions_title: "历届累计",
    table_title: "逐届数据",
    metric: "指标",
    axis_edition: "届次",
    axis_hour: "开幕后",
    edition: (row) => (row.first_ordinal === row.last_ordinal ? `第${row.last_ordinal}届` : `第${row.first_ordinal}–${row.last_ordinal}届`),
    tick_edition: (n) => `第${n}届`,
    tick_hour: (day, hour) => `第${day}天 ${hour}时`,
    cumulative: "累计",
    hourly: (now, before) => (before ? `逐小时累计 · ${now} 对比 ${before}` : `逐小时累计 · ${now}`),
    baseline_only: (label) => `上一届（${label}）早于本系统，只有总数，没有逐小时记录。`,
    no_previous: "这是第一届，没有可对比的上一届。",
    no_session: "尚无本系统记录的一届。",
    same_point: "横轴为开幕后第几天几时（展会所在时区），两届在同一时点对齐。",
    unknown: "找不到这个展会",
    export_xlsx: "下载 Excel（含分项）",
    export_csv: "下载 CSV",
    revised: (r, when) => `已修订 · 迟到数据${r.late_events.toLocaleString("en-US")}条${r.after_close ? `（闭幕后${r.after_close}条）` : ""}${when ? ` · 最后修订于${when}` : ""}`,
  },
  en: {
    page_title: "History",
    subtitle: "Edition by edition",
    editions_title: "Cumulative, edition by edition",
    table_title: "Figures of each edition",
    metric: "Figure",
    axis_edition: "Edition",
    axis_hour: "Into the run",
    edition: (row) => (row.first_ordinal === row.last_ordinal ? `#${row.last_ordinal}` : `#${row.first_ordinal}–${row.last_ordinal}`),
    tick_edition: (n) => `#${n}`,
    tick_hour: (day, hour) => `day ${day} ${hour}:00`,
    cumulative: "cumulative",
    hourly: (now, before) => (before ? `Hour by hour · ${now} against ${before}` : `Hour by hour · ${now}`),
    baseline_only: (label) => `The previous edition (${label}) predates the system: totals only, no hours.`,
    no_previous: "The first edition: nothing earlier to compare with.",
    no_session: "No edition recorded by the system yet.",
    same_point: "Across: day and hour of each edition's run, in the expo's timezone; both aligned.",
    unknown: "Unknown expo",
    export_xlsx: "Download Excel (with breakdowns)",
    export_csv: "Download CSV",
    revised: (r, when) => `Revised · ${r.late_events.toLocaleString("en-US")} late event${r.late_events === 1 ? "" : "s"}${r.after_close ? ` (${r.after_close} after close)` : ""}${when ? ` · last ${when}` : ""}`,
  },
};

const FIGURES = [
  { key: "attendees", zh: "观众", en: "Attendees" },
  { key: "professional_attendees", zh: "专业观众", en: "Professional" },
  { key: "checkins", zh: "入场人次", en: "Check-ins" },
  { key: "deals", zh: "签约项目", en: "Deals" },
  { key: "deal_value_cny", zh: "签约金额", en: "Deal value", money: true },
  { key: "exhibitors", zh: "参展企业", en: "Exhibitors" },
  { key: "countries", zh: "国家和地区", en: "Countries" },
];
const METRICS = ["checkins", "attendees", "deals", "deal_value_cny"];
const COLOURS = { now: "#c8102e", before: "#1f4fa3", people: "#1f4fa3", money: "#b8860b" };

const T = texts(TEXT);
const expoId = pathId();
const exportsOf = `/v1/expos/${encodeURIComponent(expoId)}/export`;
document.getElementById("export-xlsx").href = `${exportsOf}.xlsx?lang=${lang}`;
document.getElementById("export-csv").href = `${exportsOf}.csv`;
const charts = {};

async function get(path) {
  const response = await fetchWithin(path, { cache: "no-store" }, 15);
  if (!response.ok) {
    const error = new Error(await problemText(response));
    error.status = response.status;
    throw error;
  }
  return response.json();
}

const label = (figure) => figure[lang];
const money = (value) => joined(formatMoney(fenOf(value), lang, true));
const count = (value) => joined(formatCount(value, lang, true));

/** The exact figure, as a press text needs it. */
function exact(key, figures) {
  const value = figures[key];
  if (key === "deal_value_cny") return formatYuanExact(fenOf(value));
  const text = Number(value).toLocaleString("en-US");
  return key === "countries" && !figures.countries_exact ? `≥${text}` : text;
}

function cells(tr, figures, first) {
  const head = document.createElement("td");
  head.textContent = first;
  tr.append(head);
  for (const { key } of FIGURES) {
    const td = document.createElement("td");
    td.dataset.figure = key;
    td.dataset.value = String(figures[key]);
    td.textContent = exact(key, figures);
    tr.append(td);
  }
}

/** A session whose figures late events changed after they were shown: say so, and when. */
function revisedMark(revisions, timezone) {
  if (!revisions || (!revisions.late_events && !revisions.after_close)) return null;
  const at = revisions.last_revised_at;
  const when = at
    ? new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", {
        timeZone: timezone,
        dateStyle: "medium",
        timeStyle: "short",
      }).format(new Date(at))
    : null;
  const mark = document.createElement("span");
  mark.className = "revised";
  mark.textContent = T.revised(revisions, when);
  return mark;
}

function table(rows, timezone) {
  const head = document.querySelector("#editions thead tr");
  head.replaceChildren();
  for (const text of ["", ...FIGURES.map(label)]) {
    const th = document.createElement("th");
    th.textContent = text;
    head.append(th);
  }
  const body = document.querySelector("#editions tbody");
  body.replaceChildren();
  for (const row of rows) {
    const edition = document.createElement("tr");
    Object.assign(edition.dataset, { ordinal: row.last_ordinal, kind: "edition" });
    cells(edition, row.figures, `${T.edition(row)} · ${row.label}`);
    const mark = revisedMark(row.revisions, timezone);
    if (mark) {
      edition.dataset.revised = "true";
      edition.firstChild.append(mark);
    }
    const total = document.createElement("tr");
    total.className = "cumulative";
    Object.assign(total.dataset, { ordinal: row.last_ordinal, kind: "cumulative" });
    cells(total, row.cumulative, T.cumulative);
    body.append(edition, total);
  }
}

function draw(name, options, data) {
  const target = document.getElementById(name);
  charts[name]?.destroy();
  const width = Math.max(320, target.clientWidth);
  charts[name] = new uPlot({ width, height: 320, legend: { live: false }, ...options }, data, target);
}

/** Totals are read against zero: an axis that starts at 196万 would exaggerate growth. */
const fromZero = (u, min, max) => [0, max > 0 ? max * 1.08 : 1];

function editionsChart(rows) {
  const ordinals = rows.map((row) => row.last_ordinal);
  draw(
    "editions-chart",
    {
      scales: { x: { time: false }, people: { range: fromZero }, money: { range: fromZero } },
      series: [
        { label: T.axis_edition },
        { label: `${T.cumulative} · ${FIGURES[0][lang]}`, scale: "people", stroke: COLOURS.people, width: 2 },
        { label: `${T.cumulative} · ${FIGURES[4][lang]}`, scale: "money", stroke: COLOURS.money, width: 2 },
      ],
      axes: [
        { splits: () => ordinals, values: (u, ticks) => ticks.map(T.tick_edition) },
        { scale: "people", size: 70, values: (u, ticks) => ticks.map(count) },
        { scale: "money", side: 1, size: 90, grid: { show: false }, values: (u, ticks) => ticks.map((v) => money(v.toFixed(2))) },
      ],
    },
    [ordinals, rows.map((row) => row.cumulative.attendees), rows.map((row) => Number(row.cumulative.deal_value_cny))],
  );
}

/** Hours since local midnight of the first day, from a bucket's local start ("…T14:00:00+08:00"). */
function hoursIn(startsOn, localStart) {
  const days = (Date.parse(localStart.slice(0, 10)) - Date.parse(startsOn)) / 86_400_000;
  return days * 24 + Number(localStart.slice(11, 13));
}

async function hourly(session, metric) {
  const [details, series] = await Promise.all([
    get(`/v1/sessions/${encodeURIComponent(session.session_id)}`),
    get(`/v1/sessions/${encodeURIComponent(session.session_id)}/timeseries?metric=${metric}&bucket=1h`),
  ]);
  const points = new Map();
  const plotted = new Map([[0, 0]]);
  let before = 0;
  for (const bucket of series.buckets) {
    const start = hoursIn(details.starts_on, bucket.start);
    const total = Number(bucket.running_total);
    points.set(start + 1, total);
    if (!plotted.has(start)) plotted.set(start, before);
    plotted.set(start + 1, total);
    before = total;
  }
  return { points, plotted, name: session.label };
}

/** Both editions on one axis of hours into the run: each bucket rises from the total before
    it to the total after it; a total carries across quiet hours (nights). */
function aligned(editions) {
  const hours = [...new Set(editions.flatMap((e) => [...e.plotted.keys()]))].sort((a, b) => a - b);
  const columns = editions.map(({ plotted }) => {
    const last = Math.max(...plotted.keys());
    let running = 0;
    return hours.map((hour) => {
      running = plotted.get(hour) ?? running;
      return hour <= last ? running : null;
    });
  });
  return [hours, ...columns];
}

async function hourlyChart(rows, metric) {
  const sessions = rows.filter((row) => row.kind === "session");
  const note = document.getElementById("hourly-note");
  const current = sessions.find((row) => row.status === "open") ?? sessions.at(-1);
  if (!current) {
    document.getElementById("hourly-title").textContent = T.hourly("—");
    note.textContent = T.no_session;
    return;
  }
  const previous = rows[rows.indexOf(current) - 1];
  const recorded = previous?.kind === "session" ? previous : null;
  const editions = [await hourly(current, metric), ...(recorded ? [await hourly(recorded, metric)] : [])];
  document.getElementById("hourly-title").textContent = T.hourly(current.label, recorded?.label);
  note.textContent = !previous ? T.no_previous : recorded ? T.same_point : T.baseline_only(previous.label);
  const format = metric === "deal_value_cny" ? (v) => money(v.toFixed(2)) : count;
  const tick = (h) => T.tick_hour(Math.floor(h / 24) + 1, String(h % 24).padStart(2, "0"));
  draw(
    "hourly-chart",
    {
      scales: { x: { time: false }, y: { range: fromZero } },
      series: [
        { label: T.axis_hour },
        ...editions.map((e, i) => ({
          label: e.name,
          stroke: i === 0 ? COLOURS.now : COLOURS.before,
          width: 2,
          dash: i === 0 ? undefined : [6, 4],
        })),
      ],
      axes: [
        { incrs: [1, 2, 3, 6, 12, 24, 48, 72], values: (u, ticks) => ticks.map(tick), size: 40 },
        { size: 90, values: (u, ticks) => ticks.map(format) },
      ],
    },
    aligned(editions),
  );
  document.getElementById("hourly-chart").dataset.series = JSON.stringify(editions.map((e) => Object.fromEntries(e.points)));
}

function metricChoice(rows) {
  const select = document.getElementById("metric");
  for (const metric of METRICS) {
    const option = document.createElement("option");
    option.value = metric;
    option.textContent = FIGURES.find((f) => f.key === metric)[lang];
    select.append(option);
  }
  select.addEventListener("change", async () => {
    document.body.dataset.state = "loading";
    await hourlyChart(rows, select.value).catch(show);
    document.body.dataset.state = "ready";
  });
  return select.value;
}

function show(error) {
  const problem = document.getElementById("problem");
  problem.textContent = error.status === 404 ? T.unknown : String(error.message || error);
  problem.hidden = false;
  document.body.dataset.state = "failed";
}

async function main() {
  const [expo, history] = await Promise.all([
    get(`/v1/expos/${encodeURIComponent(expoId)}`),
    get(`/v1/expos/${encodeURIComponent(expoId)}/history`),
  ]);
  document.getElementById("expo-name").textContent = expo.name;
  document.title = `${expo.name} · ${T.page_title}`;
  table(history.rows, expo.timezone);
  editionsChart(history.rows);
  await hourlyChart(history.rows, metricChoice(history.rows));
  document.body.dataset.state = "ready";
  addEventListener("resize", () => {
    for (const [name, chart] of Object.entries(charts)) {
      chart.setSize({ width: Math.max(320, document.getElementById(name).clientWidth), height: 320 });
    }
  });
}

main().catch(show);
