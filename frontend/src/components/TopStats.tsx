// The top stats: each metric with its change against the comparison; a click puts it on
// the graph. Which metrics depends on the view (page filter, goal filter, realtime).

import { currentVisitors, query, type V2Response } from "../api";
import type { BootConfig } from "../config";
import { change, metric } from "../format";
import { body, goalFilter, topStatsMode } from "../query";
import { navigate, useLoad, view } from "../state";
import type { DashState } from "../url";

export const STAT_LABELS: Record<string, string> = {
  visitors: "Unique visitors",
  visits: "Total visits",
  pageviews: "Total pageviews",
  views_per_visit: "Views per visit",
  bounce_rate: "Bounce rate",
  visit_duration: "Visit duration",
  scroll_depth: "Scroll depth",
  time_on_page: "Time on page",
  events: "Total conversions",
  conversion_rate: "Conversion rate",
  total_revenue: "Total revenue",
  average_revenue: "Average revenue",
};

export function statMetrics(site: BootConfig, state: DashState): string[] {
  const mode = topStatsMode(state, site);
  if (mode === "realtime") return ["visitors", "pageviews"];
  if (mode === "goal") {
    const goals = goalFilter(state, site) ?? [];
    const revenue = site.goals.some((g) => g.currency && goals.includes(g.name));
    return ["visitors", "events", "conversion_rate", ...(revenue ? ["total_revenue", "average_revenue"] : [])];
  }
  if (mode === "page") return ["visitors", "visits", "pageviews", "bounce_rate", "scroll_depth", "time_on_page"];
  return ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"];
}

export function statLabel(name: string, state: DashState, site?: Pick<BootConfig, "segments">): string {
  const mode = topStatsMode(state, site);
  if (mode === "realtime") return name === "visitors" ? "Unique visitors (last 30 min)" : "Pageviews (last 30 min)";
  if (name === "visitors" && mode === "goal") return "Unique conversions";
  return STAT_LABELS[name] ?? name;
}

export function graphMetric(site: BootConfig, state: DashState): string {
  const metrics = statMetrics(site, state).filter((m) => !m.endsWith("_revenue") && m !== "scroll_depth");
  return state.graph_metric && metrics.includes(state.graph_metric) ? state.graph_metric : "visitors";
}

export function TopStats({ site }: { site: BootConfig }) {
  const state = view.value;
  const metrics = statMetrics(site, state);
  const request = body(site, state, { metrics, compare: true });
  const loaded = useLoad<V2Response>(JSON.stringify(request), (signal) => query(request, signal));
  const realtime = state.period === "realtime";
  const current = useLoad<number>(realtime ? "current" : null, (signal) => currentVisitors(signal));
  const row = loaded.data?.results[0];
  const chosen = graphMetric(site, state);
  return (
    <div class="top-stats" aria-busy={loaded.loading}>
      {realtime && (
        <div class="stat">
          <span class="stat-label">
            <span class="pulse" aria-hidden="true" /> Current visitors
          </span>
          <span class="stat-value">{current.data === null ? "–" : metric("visitors", current.data)}</span>
        </div>
      )}
      {metrics.map((name, i) => {
        const value = row?.metrics[i];
        const delta = change(row?.comparison?.change[i]);
        const good = name === "bounce_rate" ? delta.direction === "down" : delta.direction === "up";
        const graphable = !name.endsWith("_revenue") && name !== "scroll_depth";
        return (
          <button
            type="button"
            key={name}
            class={chosen === name ? "stat selected" : "stat"}
            disabled={!graphable}
            aria-pressed={chosen === name}
            onClick={() => navigate((d) => void (d.graph_metric = name === "visitors" ? undefined : name), true)}
          >
            <span class="stat-label">{statLabel(name, state, site)}</span>
            <span class="stat-value" title={row ? metric(name, value, true) : ""}>
              {loaded.error ? "!" : row ? metric(name, value) : "–"}
            </span>
            <span class={`stat-change ${delta.direction === "flat" ? "" : good ? "good" : "bad"}`}>
              {row?.comparison ? delta.text : " "}
            </span>
          </button>
        );
      })}
      {loaded.error && (
        <p class="panel-error" role="alert">
          {loaded.error}
        </p>
      )}
    </div>
  );
}
