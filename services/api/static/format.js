// Figures as people read them: 万, 亿 and 万亿 in Chinese, m, bn and tn in English.
// Money arrives as a decimal string ("92913000000.00") and is formatted exactly, in fen
// (BigInt); counts are integers. A scaled figure always has two decimals, so that figures
// side by side in a panel read alike, and is rounded DOWN: a screen never shows more than
// was counted (99,999,999.99 yuan is 9,999.99万元, not 1.00亿元). Each function returns
// {number, unit} so that the page can set the unit in a smaller size.

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

/** value / divisor in hundredths, rounded down (value and divisor are BigInt, >= 0). */
function hundredths(value, divisor) {
  return (value * 100n) / divisor;
}

function decimal2(hundred, trim) {
  const text = `${group(hundred / 100n)}.${String(hundred % 100n).padStart(2, "0")}`;
  return trim ? text.replace(/\.?0+$/, "") : text;
}

/**
 * A scaled figure in the largest tier it reaches (9,999.99万元 until it is a whole 亿);
 * below the smallest tier's unit the figure stays in plain digits (9,999元).
 * tiers: [[divisor (BigInt, in the value's own units), unit], ...] from large to small.
 */
function scaled(value, tiers, fallback, trim) {
  for (const [divisor, unit] of tiers) {
    if (value >= divisor) {
      return { number: decimal2(hundredths(value, divisor), trim), unit };
    }
  }
  return fallback();
}

/** Each language's words for large numbers, from large to small: [size, word]. */
const COUNT_TIERS = {
  zh: [
    [10n ** 12n, "万亿"],
    [10n ** 8n, "亿"],
    [10n ** 4n, "万"],
  ],
  en: [
    [10n ** 12n, " tn"],
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
    number: group(value / FEN_PER_YUAN),
    unit: YUAN[lang],
  }), trim);
}

/** Counts: zh "196.00万" (from 10,000), en "1.96 m" (from 1,000,000); below, grouped
    digits. `trim` drops zero decimals ("196万"), for a figure in a sentence. */
export function formatCount(count, lang, trim = false) {
  const value = BigInt(Math.max(0, Math.floor(Number(count))));
  return scaled(value, COUNT_TIERS[lang], () => ({ number: group(value), unit: "" }), trim);
}

/** Exact yuan with the currency sign, for places where the full figure belongs. */
export function formatYuanExact(fen) {
  const whole = group(fen / FEN_PER_YUAN);
  return `¥${whole}.${String(fen % FEN_PER_YUAN).padStart(2, "0")}`;
}

export function joined({ number, unit }) {
  return number + unit;
}
