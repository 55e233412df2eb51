// The main graph's drawing rules that need no browser: which stretch of the line is solid and
// which dashed, the value axis' top and ticks, and how a tick label is anchored.

export interface LineParts {
  /** How many buckets have begun (are not in the future): the line and area stop there. */
  upto: number;
  /** The solid line covers buckets [0, solidEnd). */
  solidEnd: number;
  /** The dashed stretch into the bucket still filling up, [from, to), or null if none is. */
  dashed: [number, number] | null;
}

/**
 * `labels` are the buckets' starts and `now` the site's clock, both as "YYYY-MM-DD[ HH:MM:SS]"
 * in the site's time zone; `lastDay` is the range's last day. The bucket holding `now` is
 * incomplete, so the segment into it is dashed; a range that ended before today has none.
 */
export function lineParts(labels: string[], now: string, lastDay: string): LineParts {
  const upto = labels.filter((l) => l <= now).length;
  const current = upto > 0 && now.slice(0, 10) <= lastDay ? upto - 1 : null;
  if (current === null) return { upto, solidEnd: upto, dashed: null };
  return { upto, solidEnd: current, dashed: current > 0 ? [current - 1, upto] : null };
}

/** A tick label near the right edge ends at its tick, so it is not cut off. */
export function tickAnchor(x: number, width: number): "middle" | "end" {
  return width - x < 24 ? "end" : "middle";
}

/**
 * The value axis for a largest value: a round top just above it and four or five gridlines at
 * round steps (a top of 2.5k is ruled every 500, not at 625 and 1,875).
 */
export function scale(largest: number): { max: number; ticks: number[] } {
  if (!(largest > 0)) return { max: 1, ticks: [0, 0.25, 0.5, 0.75, 1] };
  const decade = Math.pow(10, Math.floor(Math.log10(largest)));
  const m = [1, 2, 2.5, 5, 10].find((c) => c * decade >= largest) ?? 10;
  const max = m * decade;
  const parts = m === 2.5 || m === 5 ? 5 : 4;
  // Rounded to the decade's precision, so 0.1 * 3 is 0.3, not 0.30000000000000004.
  const round = (v: number) => Number(v.toPrecision(12));
  return { max, ticks: Array.from({ length: parts + 1 }, (_, i) => round((max * i) / parts)) };
}
