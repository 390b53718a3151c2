// The fact sheet of a session: the API words every figure (exact and in press style), so
// this page only lays it out for A4; the browser's print makes the PDF.
import { fetchWithin, lang, pathId, problemText, texts } from "/static/client.js";

const TEXT = {
  zh: {
    page_title: "新闻数据",
    print: "打印 / 存为 PDF",
    other_lang: "English",
    figures_title: "主要数据",
    figure: "指标",
    current: "本届",
    previous: "往届",
    cumulative: "历届累计",
    comparisons_title: "对比",
    sectors_title: "签约领域（按金额）",
    countries_title: "观众来源（按人数）",
    not_given: "未注明",
    other: "其他",
    as_of: (when) => `数据截至 ${when}`,
    none_yet: "尚无数据",
    behind: (n) => `另有 ${n} 条已受理数据尚未计入`,
    unknown: "找不到这一届",
  },
  en: {
    page_title: "Fact sheet",
    print: "Print / save as PDF",
    other_lang: "中文",
    figures_title: "Key figures",
    figure: "Figure",
    current: "This edition",
    previous: "Previous editions",
    cumulative: "All editions",
    comparisons_title: "Compared",
    sectors_title: "Deals by sector (by value)",
    countries_title: "Attendees by country or region (by number)",
    not_given: "Not given",
    other: "Others",
    as_of: (when) => `Figures as of ${when}`,
    none_yet: "No figures yet",
    behind: (n) => `${n} accepted events are not counted yet`,
    unknown: "Unknown session",
  },
};
const text = texts(TEXT);
const sessionId = pathId();

function cell(quote) {
  const td = document.createElement("td");
  const big = document.createElement("span");
  big.className = "quote";
  big.textContent = quote.press;
  const small = document.createElement("span");
  small.className = "exact";
  small.textContent = quote.exact;
  td.append(big, small);
  return td;
}

function countryName(code) {
  try {
    return new Intl.DisplayNames([lang === "en" ? "en" : "zh-CN"], { type: "region" }).of(code);
  } catch {
    return code;
  }
}

function topList(node, rows, name) {
  node.replaceChildren(
    ...rows.map((row) => {
      const li = document.createElement("li");
      const what = { other: text.other, not_given: text.not_given }[row.part] ?? (row.label || name(row.key));
      li.textContent = `${what} · ${row.quote.press} (${row.quote.exact})`;
      return li;
    }),
  );
}

function render(sheet) {
  document.getElementById("expo-name").textContent = sheet.expo_name;
  document.getElementById("session-name").textContent = sheet.session_name;
  document.getElementById("headline").textContent = sheet.headline;
  const body = document.querySelector("#figures tbody");
  body.replaceChildren(
    ...sheet.figures.map((line) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = line.label;
      tr.append(th, cell(line.current), cell(line.previous), cell(line.cumulative));
      return tr;
    }),
  );
  const comparisons = document.getElementById("comparisons");
  comparisons.replaceChildren(
    ...sheet.comparisons.map((sentence) => {
      const li = document.createElement("li");
      li.textContent = sentence;
      return li;
    }),
  );
  document.getElementById("comparisons-section").hidden = sheet.comparisons.length === 0;
  topList(document.getElementById("sectors"), sheet.top_sectors, (key) => key);
  topList(document.getElementById("countries"), sheet.top_countries, countryName);
  const when = sheet.as_of ? new Date(sheet.as_of).toLocaleString(lang === "en" ? "en-GB" : "zh-CN") : null;
  const behind = sheet.unfolded ? ` · ${text.behind(sheet.unfolded.toLocaleString("en-US"))}` : "";
  document.getElementById("as-of").textContent = (when ? text.as_of(when) : text.none_yet) + behind;
  document.getElementById("revisions").textContent = sheet.revisions_note || "";
  document.body.dataset.state = "ready";
}

async function load() {
  const path = `/v1/sessions/${encodeURIComponent(sessionId)}/factsheet?lang=${lang}`;
  const response = await fetchWithin(path, { cache: "no-store" }, 15);
  if (!response.ok) {
    const problem = document.getElementById("problem");
    problem.textContent = response.status === 404 ? text.unknown : await problemText(response);
    problem.hidden = false;
    document.body.dataset.state = "problem";
    return;
  }
  render(await response.json());
}

const other = document.getElementById("other-lang");
other.textContent = text.other_lang;
other.href = `?lang=${lang === "en" ? "zh" : "en"}`;
document.getElementById("print").addEventListener("click", () => window.print());
load();
