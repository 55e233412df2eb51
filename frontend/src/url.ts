// The dashboard's state lives in the URL: period, dates, comparison, filters in Plausible's
// `?f=is,page,/docs` form, labels (`l=DE-BY,Bavaria`), the open tab of each panel and the
// details view. parse() and serialise() are inverse; history entries make Back and Forward work.

import { isFilterKey, isOperator, type DashFilter } from "./filters";
import { DEFAULT_PERIOD, isDate, type PeriodId } from "./periods";

export type ComparisonMode = "previous_period" | "year_over_year" | "custom";

export interface DashState {
  period: PeriodId;
  date?: string;
  from?: string;
  to?: string;
  comparison?: ComparisonMode;
  compare_from?: string;
  compare_to?: string;
  match_day_of_week: boolean;
  interval?: string;
  graph_metric?: string;
  filters: DashFilter[];
  labels: Record<string, string>;
  tabs: Record<string, string>;
  prop_key?: string;
  funnel?: string;
  details?: string;
  /** The "include imported data" switch: undefined follows the site (on when it has imports). */
  with_imported?: boolean;
  /** Parameters the dashboard carries along untouched: a shared link's `auth`, `embed`, ... */
  keep: [string, string][];
}

const PERIODS: PeriodId[] = ["realtime", "day", "7d", "28d", "30d", "91d", "month", "6mo", "12mo", "year", "all", "custom"];
export const TAB_PARAMS = ["sources", "pages", "locations", "devices", "behaviours"];
const KEPT = ["auth", "embed", "theme", "background"];

export function emptyState(): DashState {
  return { period: DEFAULT_PERIOD, match_day_of_week: true, filters: [], labels: {}, tabs: {}, keep: [] };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, " "));
  } catch {
    return part;
  }
}

/** A value as it appears inside `f=` or `l=`: commas (the separator) and `%` escaped, `/` and `:` kept. */
export function encodePart(value: string): string {
  return encodeURIComponent(value)
    .replace(/%2F/gi, "/")
    .replace(/%3A/gi, ":")
    .replace(/%40/gi, "@")
    .replace(/%20/g, "+");
}

export function parseFilter(raw: string): DashFilter | null {
  const parts = raw.split(",").map(decode);
  if (parts.length < 3) return null;
  const [op, key, ...values] = parts;
  if (!isOperator(op) || !isFilterKey(key)) return null;
  if (key === "segment" && !values.every((v) => /^\d+$/.test(v))) return null;
  return { op, key, values };
}

export function parse(search: string): DashState {
  const state = emptyState();
  const text = search.startsWith("?") ? search.slice(1) : search;
  for (const pair of text.split("&")) {
    if (!pair) continue;
    const eq = pair.indexOf("=");
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const raw = eq < 0 ? "" : pair.slice(eq + 1);
    const value = decode(raw);
    if (name === "f") {
      const filter = parseFilter(raw);
      if (filter && !state.filters.some((f) => f.key === filter.key)) state.filters.push(filter);
    } else if (name === "l") {
      const [code, ...label] = raw.split(",").map(decode);
      if (code && label.length) state.labels[code] = label.join(",");
    } else if (name === "period") {
      if ((PERIODS as string[]).includes(value)) state.period = value as PeriodId;
    } else if (name === "date" || name === "from" || name === "to" || name === "compare_from" || name === "compare_to") {
      if (isDate(value)) state[name] = value;
    } else if (name === "comparison") {
      if (value === "previous_period" || value === "year_over_year" || value === "custom") state.comparison = value;
    } else if (name === "match_day_of_week") {
      state.match_day_of_week = value !== "false";
    } else if (name === "with_imported") {
      if (value === "true" || value === "false") state.with_imported = value === "true";
    } else if (name === "interval") {
      if (["minute", "hour", "day", "week", "month"].includes(value)) state.interval = value;
    } else if (name === "graph_metric" || name === "prop_key" || name === "funnel" || name === "details") {
      if (value) state[name] = value;
    } else if (TAB_PARAMS.includes(name)) {
      if (value) state.tabs[name] = value;
    } else if (KEPT.includes(name)) {
      state.keep.push([name, value]);
    }
  }
  if (state.period === "custom" && !(state.from && state.to)) state.period = DEFAULT_PERIOD;
  if (state.from && state.to && state.from > state.to) [state.from, state.to] = [state.to, state.from];
  return state;
}

export function serialise(state: DashState): string {
  const out: string[] = [];
  const put = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== "") out.push(`${name}=${encodePart(value)}`);
  };
  for (const [name, value] of state.keep) put(name, value);
  if (state.period !== DEFAULT_PERIOD) put("period", state.period);
  if (state.period !== "custom" && state.period !== "realtime" && state.period !== "all") put("date", state.date);
  if (state.period === "custom") {
    put("from", state.from);
    put("to", state.to);
  }
  if (state.comparison) {
    put("comparison", state.comparison);
    if (state.comparison === "custom") {
      put("compare_from", state.compare_from);
      put("compare_to", state.compare_to);
    }
    if (!state.match_day_of_week) put("match_day_of_week", "false");
  }
  put("interval", state.interval);
  put("graph_metric", state.graph_metric);
  if (state.with_imported !== undefined) put("with_imported", String(state.with_imported));
  for (const filter of state.filters) {
    out.push("f=" + [filter.op, filter.key, ...filter.values].map(encodePart).join(","));
  }
  const used = new Set(state.filters.flatMap((f) => f.values));
  for (const [code, label] of Object.entries(state.labels)) {
    if (used.has(code)) out.push("l=" + [code, label].map(encodePart).join(","));
  }
  for (const name of TAB_PARAMS) put(name, state.tabs[name]);
  put("prop_key", state.prop_key);
  put("funnel", state.funnel);
  put("details", state.details);
  return out.length ? "?" + out.join("&") : "";
}
