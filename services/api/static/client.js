// What the pages share: the id in the path, the language, where ingest is and posting to it,
// event ids, problem+json answers, and small localStorage helpers.

export const query = new URLSearchParams(location.search);

/** The page language: Chinese unless ?lang=en. */
export const lang = (query.get("lang") || "").toLowerCase().startsWith("en") ? "en" : "zh";

/** Pick this page's texts and set <html lang> to match. */
export function texts(dictionaries) {
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  const chosen = dictionaries[lang];
  for (const node of document.querySelectorAll("[data-text]")) {
    node.textContent = chosen[node.dataset.text] ?? node.textContent;
  }
  for (const node of document.querySelectorAll("[data-placeholder]")) {
    node.placeholder = chosen[node.dataset.placeholder] ?? "";
  }
  document.title = chosen.page_title ?? document.title;
  return chosen;
}

/** The id after /display/, /desk/ or /ceremony/. */
export function pathId() {
  const parts = location.pathname.split("/").filter(Boolean);
  return decodeURIComponent(parts[1] || "");
}

/** A positive number from the query string, else the default. */
export function numberParam(name, fallback, minimum = 0) {
  const value = Number(query.get(name));
  return Number.isFinite(value) && value > minimum ? value : fallback;
}

/** crypto.randomUUID needs a secure context; screens on plain http fall back to v4 by hand. */
export function uuid() {
  if (globalThis.crypto?.randomUUID) {
    return crypto.randomUUID();
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const CONFIG_KEY = "expo-tally.config";
let config = null;

/** The ingest service's base URL, from GET /v1/config on the API that served the page
    (remembered on the device, so a desk can still upload while the API is away). */
export async function ingestBase() {
  if (config === null) {
    try {
      const response = await fetchWithin("/v1/config", { cache: "no-store" }, 10);
      if (!response.ok) {
        throw new Error(`GET /v1/config answered ${response.status}`);
      }
      config = await response.json();
      save(CONFIG_KEY, config);
    } catch (error) {
      config = load(CONFIG_KEY, null);
      if (config === null) throw error;
    }
  }
  if (config.ingest_url) {
    return config.ingest_url.replace(/\/+$/, "");
  }
  return `${location.protocol}//${location.hostname}:${config.ingest_port}`;
}

/** POST an event (or events) to ingest with the device's token, within `seconds`. */
export async function postToIngest(path, token, body, seconds) {
  const base = await ingestBase();
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  return fetchWithin(`${base}${path}`, { method: "POST", headers, body: JSON.stringify(body) }, seconds);
}

/** fetch with a deadline; a hung server counts as a network error. */
export async function fetchWithin(url, options, seconds) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), seconds * 1000);
  try {
    return await fetch(url, { ...options, signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
}

/** A problem+json answer as one line for people: its detail and each field error. */
export async function problemText(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    return `${response.status} ${response.statusText}`;
  }
  const errors = (body.errors || []).map((e) => {
    const where = (e.loc || []).filter((part) => part !== "body").join(".");
    return where ? `${where}: ${e.msg}` : e.msg;
  });
  return [body.detail || body.title || String(response.status), ...errors].join(" — ");
}

export function load(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

export function save(key, value) {
  localStorage.setItem(key, JSON.stringify(value));
}
