// From the URL state to Stats API v2 bodies: the date range, the filters, the comparison.

import type { BootConfig } from "./config";
import { filtersToV2, type DashFilter } from "./filters";
import { intervalsFor } from "./periods";
import type { DashState } from "./url";

export function dateRange(state: DashState): { date_range: unknown; date?: string } {
  if (state.period === "custom" && state.from && state.to) return { date_range: [state.from, state.to] };
  if (state.period === "realtime" || state.period === "all") return { date_range: state.period };
  return state.date ? { date_range: state.period, date: state.date } : { date_range: state.period };
}

export function comparison(state: DashState): Record<string, unknown> | undefined {
  if (!state.comparison || state.period === "realtime" || state.period === "all") return undefined;
  const out: Record<string, unknown> = { mode: state.comparison, match_day_of_week: state.match_day_of_week };
  if (state.comparison === "custom") {
    if (!(state.compare_from && state.compare_to)) return undefined;
    out.date_range = [state.compare_from, state.compare_to];
  }
  return out;
}

export interface BodyOptions {
  metrics: string[];
  dimensions?: string[];
  filters?: DashFilter[];
  extraFilters?: unknown[];
  orderBy?: [string, "asc" | "desc"][];
  limit?: number;
  offset?: number;
  compare?: boolean;
  timeLabels?: boolean;
  totalRows?: boolean;
}

/** Whether imported data is asked for: the URL's switch, else on when the site has imports. */
export function includeImports(site: Pick<BootConfig, "imports">, state: DashState): boolean {
  return state.with_imported ?? (site.imports?.length ?? 0) > 0;
}

/** The last day of imported data (the graph's mark), or null without imports. */
export function importsEnd(site: Pick<BootConfig, "imports">): string | null {
  const ends = (site.imports ?? []).map((i) => i.end_date).sort();
  return ends.length ? ends[ends.length - 1] : null;
}

/** Why an answer left imported data out, in words (Plausible's `imports_skip_reason`). */
export function skipReason(reason: unknown): string {
  if (reason === "unsupported_query") return "imported data cannot answer this combination of metrics, dimensions and filters";
  if (reason === "out_of_range") return "the range has no imported days";
  if (reason === "unsupported_interval") return "imported data has daily figures only; pick a day, week or month interval";
  if (reason === "no_imported_data") return "the site has no imported data";
  return typeof reason === "string" && reason ? reason.replace(/_/g, " ") : "the server did not say why";
}

export function body(site: BootConfig, state: DashState, options: BodyOptions): Record<string, unknown> {
  const filters = [...filtersToV2(options.filters ?? state.filters), ...(options.extraFilters ?? [])];
  const out: Record<string, unknown> = { site_id: site.domain, metrics: options.metrics, ...dateRange(state) };
  if (options.dimensions?.length) out.dimensions = options.dimensions;
  if (filters.length) out.filters = filters;
  if (options.orderBy) out.order_by = options.orderBy;
  const include: Record<string, unknown> = {};
  const compared = options.compare ? comparison(state) : undefined;
  if (compared) include.comparisons = compared;
  if (options.timeLabels) include.time_labels = true;
  if (options.totalRows) include.total_rows = true;
  if (includeImports(site, state)) include.imports = true;
  if (Object.keys(include).length) out.include = include;
  if (options.limit !== undefined) out.pagination = { limit: options.limit, offset: options.offset ?? 0 };
  return out;
}

export function interval(state: DashState): string {
  const allowed = intervalsFor(state.period, state.from, state.to);
  return state.interval && allowed.options.includes(state.interval) ? state.interval : allowed.default;
}

/** The v2 filters (leaves, found inside and/or/not too) of the saved segments applied in the view. */
function segmentFilters(state: DashState, site?: Pick<BootConfig, "segments">): unknown[] {
  const ids = state.filters.filter((f) => f.key === "segment").flatMap((f) => f.values);
  return (site?.segments ?? []).filter((s) => ids.includes(String(s.id))).flatMap((s) => s.segment_data?.filters ?? []);
}

/** Every leaf filter `[op, dimension, values, ...]` of a v2 filter tree on `dimension`. */
export function filtersOn(filters: unknown, dimension: string): unknown[][] {
  if (!Array.isArray(filters)) return [];
  if (filters[1] === dimension && typeof filters[0] === "string") return [filters];
  return filters.flatMap((item) => filtersOn(item, dimension));
}

/**
 * The goals the view filters by, from a goal filter in the URL or inside an applied saved
 * segment (Plausible resolves segments into their filters before it picks the top stats),
 * or null when nothing filters by goal.
 */
export function goalFilter(state: DashState, site?: Pick<BootConfig, "segments">): string[] | null {
  const direct = state.filters.filter((f) => f.key === "goal");
  const saved = filtersOn(segmentFilters(state, site), "event:goal");
  if (!direct.length && !saved.length) return null;
  return [...direct.flatMap((f) => f.values), ...saved.flatMap((f) => (Array.isArray(f[2]) ? f[2].map(String) : []))];
}

export function hasGoalFilter(state: DashState, site?: Pick<BootConfig, "segments">): boolean {
  return goalFilter(state, site) !== null;
}

/**
 * Whether the view filters by page: directly, or through an applied saved segment whose
 * filters hold one (a page filter changes which top stats a query may ask for).
 */
export function hasPageFilter(state: DashState, site?: Pick<BootConfig, "segments">): boolean {
  if (state.filters.some((f) => f.key === "page")) return true;
  return mentions(segmentFilters(state, site), "event:page");
}

export type TopStatsMode = "realtime" | "goal" | "page" | "visits";

/** Which set of top stats the view shows: realtime's, a goal filter's, a page filter's, or the usual. */
export function topStatsMode(state: DashState, site?: Pick<BootConfig, "segments">): TopStatsMode {
  if (state.period === "realtime") return "realtime";
  if (hasGoalFilter(state, site)) return "goal";
  if (hasPageFilter(state, site)) return "page";
  return "visits";
}

/** Whether a v2 filter tree mentions `dimension` anywhere (inside and/or/not too). */
export function mentions(filters: unknown, dimension: string): boolean {
  if (!Array.isArray(filters)) return false;
  return filters.some((item) => item === dimension || (Array.isArray(item) && mentions(item, dimension)));
}

/**
 * The view each card of the compare view queries: the URL's, each site against the previous
 * period unless the URL names another comparison, without saved segments (one site's each).
 */
export function compareState(state: DashState): DashState {
  const comparison = state.comparison === "custom" && !(state.compare_from && state.compare_to) ? undefined : state.comparison;
  return { ...state, comparison: comparison ?? "previous_period", filters: state.filters.filter((f) => f.key !== "segment") };
}
