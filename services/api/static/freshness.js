// How fresh the figures on a screen are, out of what the API answered and a clock: the age
// of the figures, and whether late events revised them lately. Pure functions, no DOM.

/** A revision is mentioned this long after it was folded. */
export const REVISION_SHOWN_MS = 60 * 60 * 1000;

/** Figures of an answer that lagged further behind than this (seconds) are flagged. */
export const BEHIND_SECONDS = 10;

/**
 * The age in seconds of the figures an answer vouched for: they were current when the
 * answer arrived (`answeredAt`, ms) less its `lag` (the age of the oldest event not folded
 * yet, seconds). Null when the lag is unknown: the API could not tell.
 */
export function dataAge(now, answeredAt, lag) {
  if (lag === null || lag === undefined) {
    return null;
  }
  return Math.max(0, (now - answeredAt) / 1000 + lag);
}

/** Whether an answer's lag (seconds, null when unknown) flags its figures as behind. */
export function behind(lag) {
  return lag !== null && lag !== undefined && lag > BEHIND_SECONDS;
}

const clocks = new Map();

/** "HH:MM" (24-hour) of an instant in an IANA timezone. */
export function clockTime(instant, timeZone) {
  if (!clocks.has(timeZone)) {
    const options = { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    clocks.set(timeZone, new Intl.DateTimeFormat("en-GB", options));
  }
  return clocks.get(timeZone).format(instant);
}

/**
 * "HH:MM" in the expo's `timeZone` of the latest revision (`revisions.last_revised_at`),
 * while it is less than an hour old at `now` (ms, on the server's clock); else null. Null
 * too while the timezone is not known: a time in the wrong zone would mislead.
 */
export function recentRevision(revisions, now, timeZone) {
  const at = Date.parse(revisions?.last_revised_at ?? "");
  if (!timeZone || Number.isNaN(at) || now - at >= REVISION_SHOWN_MS) {
    return null;
  }
  return clockTime(at, timeZone);
}
