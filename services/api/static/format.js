// Figures as people read them: 万 and 亿 in Chinese, m and bn in English.
// Money arrives as a decimal string ("92913000000.00") and is formatted exactly, in fen
// (BigInt); counts are integers. Each function returns {number, unit} so that the page
// can set the unit in a smaller size.

const FEN_PER_YUAN = 100n;

/** "92913000000.00" -> 9291300000000n (fen). Tolerates a missing or short fraction. */
export function fenOf(decimal) {
  const [whole, fraction = ""] = String(decimal).trim().split(".");
  const sign = whole.startsWith("-") ? -1n : 1n;
  const digits = whole.replace(/^[-+]/, "") || "0";
  const cents = (fraction + "00").slice(0, 2);
  return sign * (BigInt(digits) * FEN_PER_YUAN + BigInt(cents));
}

function group(integer) {
  return String(integer).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** value / divisor in hundredths, rounded half up (value and divisor are BigInt, >= 0). */
function hundredths(value, divisor) {
  return (value * 100n * 2n + divisor) / (divisor * 2n);
}

function decimal2(hundred, trim) {
  const text = `${group(hundred / 100n)}.${String(hundred % 100n).padStart(2, "0")}`;
  return trim ? text.replace(/\.?0+$/, "") : text;
}

/**
 * A scaled figure in the largest tier it reaches: 99,999,999.99 yuan rounds up to 1.00亿元,
 * but below the smallest tier's unit the figure stays in plain digits (9,999元).
 * tiers: [[divisor (BigInt, in the value's own units), unit], ...] from large to small.
 */
function scaled(value, tiers, fallback, trim) {
  for (const [index, [divisor, unit]] of tiers.entries()) {
    const hundred = hundredths(value, divisor);
    const smallest = index === tiers.length - 1;
    if (hundred >= 100n && (!smallest || value >= divisor)) {
      return { number: decimal2(hundred, trim), unit };
    }
  }
  return fallback();
}

/** Each language's words for large numbers, from large to small: [size, word]. */
const COUNT_TIERS = {
  zh: [
    [10n ** 8n, "亿"],
    [10n ** 4n, "万"],
  ],
  en: [
    [10n ** 9n, " bn"],
    [10n ** 6n, " m"],
  ],
};
const YUAN = { zh: "元", en: " yuan" };
/** The same words for money, in fen: 亿元 is 10^8 yuan, 10^10 fen. */
const MONEY_TIERS = Object.fromEntries(
  Object.entries(COUNT_TIERS).map(([lang, tiers]) => [
    lang,
    tiers.map(([size, word]) => [size * FEN_PER_YUAN, word + YUAN[lang]]),
  ]),
);

/**
 * Money in yuan: zh "929.13亿元", "12.50万元", "8,000元"; en "92.91 bn yuan",
 * "1.25 m yuan", "8,000 yuan". `fen` is a BigInt; `trim` drops zero decimals ("100亿元").
 */
export function formatMoney(fen, lang, trim = false) {
  const value = fen < 0n ? 0n : fen;
  return scaled(value, MONEY_TIERS[lang], () => ({
    number: group(hundredths(value, 100n) / 100n),
    unit: YUAN[lang],
  }), trim);
}

/** Counts: zh "196万" (from 10,000), en "1.96 m" (from 1,000,000); below, grouped digits. */
export function formatCount(count, lang) {
  const value = BigInt(Math.max(0, Math.round(Number(count))));
  if (value < (lang === "zh" ? 10_000n : 1_000_000n)) {
    return { number: group(value), unit: "" };
  }
  return scaled(value, COUNT_TIERS[lang], () => ({ number: group(value), unit: "" }), true);
}

/** Exact yuan with the currency sign, for places where the full figure belongs. */
export function formatYuanExact(fen) {
  const whole = group(fen / FEN_PER_YUAN);
  return `¥${whole}.${String(fen % FEN_PER_YUAN).padStart(2, "0")}`;
}

export function joined({ number, unit }) {
  return number + unit;
}
