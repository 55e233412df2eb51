// Every period the date picker offers, with its keyboard key (Plausible's shortcuts), and the
// date arithmetic the picker needs, in the site's time zone. One table the UI is built from.

export type PeriodId =
  | "realtime"
  | "day"
  | "7d"
  | "28d"
  | "30d"
  | "91d"
  | "month"
  | "6mo"
  | "12mo"
  | "year"
  | "all"
  | "custom";

export interface PeriodChoice {
  id: string; // unique within the menu
  label: string;
  key: string; // keyboard shortcut
  period: PeriodId;
  /** How far back from today the reference `date` is, for "yesterday" and "last month". */
  relative?: "yesterday" | "last_month";
}

export const PERIOD_CHOICES: PeriodChoice[] = [
  { id: "day", label: "Today", key: "d", period: "day" },
  { id: "yesterday", label: "Yesterday", key: "e", period: "day", relative: "yesterday" },
  { id: "realtime", label: "Realtime", key: "r", period: "realtime" },
  { id: "7d", label: "Last 7 days", key: "w", period: "7d" },
  { id: "28d", label: "Last 28 days", key: "f", period: "28d" },
  { id: "30d", label: "Last 30 days", key: "t", period: "30d" },
  { id: "91d", label: "Last 91 days", key: "n", period: "91d" },
  { id: "month", label: "Month to date", key: "m", period: "month" },
  { id: "last_month", label: "Last month", key: "p", period: "month", relative: "last_month" },
  { id: "year", label: "Year to date", key: "y", period: "year" },
  { id: "12mo", label: "Last 12 months", key: "l", period: "12mo" },
  { id: "all", label: "All time", key: "a", period: "all" },
  { id: "custom", label: "Custom range", key: "c", period: "custom" },
];

export const DEFAULT_PERIOD: PeriodId = "28d";

/** Today's date (YYYY-MM-DD) in a time zone. */
export function todayIn(timezone: string, now: Date = new Date()): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

export function addDays(isoDate: string, days: number): string {
  const [y, m, d] = isoDate.split("-").map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return t.toISOString().slice(0, 10);
}

export function addMonths(isoDate: string, months: number): string {
  const [y, m] = isoDate.split("-").map(Number);
  const t = new Date(Date.UTC(y, m - 1 + months, 1));
  return t.toISOString().slice(0, 10);
}

export function isDate(text: string | undefined | null): text is string {
  if (!text || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const t = new Date(text + "T00:00:00Z");
  return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === text;
}

/** The reference date a choice implies (`date=` in the URL), or undefined for "today". */
export function choiceDate(choice: PeriodChoice, today: string): string | undefined {
  if (choice.relative === "yesterday") return addDays(today, -1);
  if (choice.relative === "last_month") return addMonths(today, -1);
  return undefined;
}

/** Which menu entry a URL's period and date stand for (to show its label). */
export function choiceFor(period: PeriodId, date: string | undefined, today: string): PeriodChoice | undefined {
  return PERIOD_CHOICES.find((c) => c.period === period && (choiceDate(c, today) ?? today) === (date ?? today)) ??
    PERIOD_CHOICES.find((c) => c.period === period && !c.relative);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export function shortDate(isoDate: string, withYear = false): string {
  const [y, m, d] = isoDate.slice(0, 10).split("-").map(Number);
  return `${d} ${MONTHS[m - 1]}${withYear ? " " + y : ""}`;
}

export function monthLabel(isoDate: string): string {
  const [y, m] = isoDate.split("-").map(Number);
  return `${MONTHS[m - 1]} ${y}`;
}

/** The intervals the graph may use for a period (Plausible's), and the default. */
export function intervalsFor(period: PeriodId, from?: string, to?: string): { options: string[]; default: string } {
  switch (period) {
    case "realtime":
      return { options: ["minute"], default: "minute" };
    case "day":
      return { options: ["minute", "hour"], default: "hour" };
    case "7d":
      return { options: ["hour", "day"], default: "day" };
    case "28d":
    case "30d":
    case "91d":
    case "month":
      return { options: ["day", "week"], default: "day" };
    case "6mo":
    case "12mo":
    case "year":
      return { options: ["day", "week", "month"], default: "month" };
    case "all":
      return { options: ["week", "month"], default: "month" };
    case "custom": {
      const days = from && to ? (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1 : 30;
      if (days <= 1) return { options: ["minute", "hour"], default: "hour" };
      if (days <= 7) return { options: ["hour", "day"], default: "day" };
      if (days <= 120) return { options: ["day", "week"], default: "day" };
      return { options: ["day", "week", "month"], default: "month" };
    }
  }
}
