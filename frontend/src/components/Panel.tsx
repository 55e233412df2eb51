// A report panel: its tabs, its own query, its own loading and error state, and rows that
// filter the dashboard when clicked. The body keeps its height while loading (no shifts).

import { useMemo } from "preact/hooks";
import { query, type V2Response } from "../api";
import type { BootConfig } from "../config";
import { flag, valueLabel, withFilter } from "../filters";
import { metric } from "../format";
import { body } from "../query";
import { filterKeyOf, METRIC_LABELS, openTab, panelMetrics, tabsShown, UTM_TABS, type Report, type ReportTab } from "../reports";
import { navigate, useLoad, view } from "../state";
import type { DashState } from "../url";
import { Funnels } from "./Funnels";
import { MapView } from "./MapView";
import { PropertyKeys } from "./PropertyKeys";

export const PANEL_ROWS = 9;

export function rowBody(site: BootConfig, state: DashState, tab: ReportTab, details: boolean, limit: number, offset = 0) {
  const metrics = panelMetrics(tab, state, details, site).filter((m) => m !== "exit_rate");
  const dimension = tab.dimension(state);
  const dimensions = tab.labelDimension ? [dimension, tab.labelDimension] : [dimension];
  const goal = tab.kind === "goals";
  return body(site, state, {
    metrics: goal ? metrics.filter((m) => !m.endsWith("_revenue") || site.goals.some((g) => g.currency)) : metrics,
    dimensions,
    orderBy: [[metrics[0], "desc"]],
    limit,
    offset,
    totalRows: details,
  });
}

export function Panel({ site, report }: { site: BootConfig; report: Report }) {
  const state = view.value;
  const tab = openTab(report, state);
  const tabs = tabsShown(report, site);
  const utm = UTM_TABS.some((u) => u.id === tab.id);
  const mainTabs = tabs.filter((t) => !UTM_TABS.some((u) => u.id === t.id));
  const select = (id: string) =>
    navigate((draft) => {
      draft.tabs[report.id] = id;
    }, true);
  return (
    <section class="panel" aria-labelledby={`panel-${report.id}`}>
      <header class="panel-head">
        <h2 id={`panel-${report.id}`}>{tab.kind === "map" ? "Locations" : report.id === "sources" ? "Top Sources" : tab.label}</h2>
        <div class="tabs">
          <div class="tab-list" role="tablist" aria-label={report.title}>
            {mainTabs.map((t) => (
              <button
                role="tab"
                type="button"
                key={t.id}
                aria-selected={t.id === tab.id}
                tabIndex={t.id === tab.id ? 0 : -1}
                onClick={() => select(t.id)}
                onKeyDown={(e) => tabKeys(e, mainTabs, t, select)}
              >
                {t.label}
              </button>
            ))}
          </div>
          {report.id === "sources" && (
            <select
              aria-label="Campaigns"
              class={utm ? "tab-select active" : "tab-select"}
              value={utm ? tab.id : ""}
              onChange={(e) => select((e.target as HTMLSelectElement).value)}
            >
              <option value="" disabled>
                Campaigns
              </option>
              {UTM_TABS.map((u) => (
                <option value={u.id} key={u.id}>
                  {u.label}
                </option>
              ))}
            </select>
          )}
        </div>
      </header>
      <div class="panel-body" role="tabpanel">
        {tab.kind === "funnels" ? (
          <Funnels site={site} />
        ) : tab.kind === "props" && !state.prop_key ? (
          <PropertyKeys site={site} />
        ) : (
          <Rows site={site} report={report} tab={tab} />
        )}
      </div>
    </section>
  );
}

function tabKeys(e: KeyboardEvent, tabs: ReportTab[], tab: ReportTab, select: (id: string) => void) {
  const i = tabs.indexOf(tab);
  const next = e.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : e.key === "ArrowLeft" ? tabs[(i - 1 + tabs.length) % tabs.length] : null;
  if (next) {
    e.preventDefault();
    select(next.id);
    const target = (e.currentTarget as HTMLElement).parentElement?.querySelectorAll<HTMLElement>("[role=tab]")[tabs.indexOf(next)];
    target?.focus();
  }
}

function Rows({ site, report, tab }: { site: BootConfig; report: Report; tab: ReportTab }) {
  const state = view.value;
  const request = useMemo(() => rowBody(site, state, tab, false, PANEL_ROWS), [site, state, tab]);
  const key = JSON.stringify(request);
  const loaded = useLoad<V2Response>(key, (signal) => query(request, signal));
  const metrics = (request.metrics as string[]) ?? [];
  const dimension = tab.dimension(state);
  const rows = loaded.data?.results ?? [];
  const top = Math.max(1, ...rows.map((r) => Number(r.metrics[0]) || 0));
  return (
    <>
      {tab.kind === "map" && <MapView site={site} rows={loaded.data?.results ?? null} />}
      {tab.kind !== "map" && (
        <div class="rows" style={{ "--cols": String(Math.max(1, metrics.length)) }} aria-busy={loaded.loading}>
          <div class="row row-head">
            <span>{tab.column(state)}</span>
            {metrics.map((m) => (
              <span class="num" key={m}>
                {METRIC_LABELS[m] ?? m}
              </span>
            ))}
          </div>
          {loaded.error && <p class="panel-error" role="alert">{loaded.error}</p>}
          {!loaded.error && loaded.data && rows.length === 0 && <p class="panel-empty">No data yet</p>}
          {!loaded.data && !loaded.error && <div class="panel-loading" aria-label="Loading" />}
          {rows.map((row) => (
            <RowLine
              key={String(row.dimensions[0])}
              dimension={dimension}
              value={row.dimensions[0]}
              label={tab.labelDimension ? row.dimensions[1] : null}
              metrics={metrics}
              values={row.metrics}
              share={(Number(row.metrics[0]) || 0) / top}
              link={tab.kind !== "props" || !!state.prop_key}
            />
          ))}
        </div>
      )}
      <footer class="panel-foot">
        {tab.kind === "props" && state.prop_key && (
          <button type="button" class="link" onClick={() => navigate((d) => void (d.prop_key = undefined))}>
            ← All properties
          </button>
        )}
        {rows.length > 0 || tab.kind === "map" ? (
          <button
            type="button"
            class="link details-link"
            onClick={() => navigate((d) => void (d.details = `${report.id}:${tab.kind === "map" ? "countries" : tab.id}`))}
          >
            Details
          </button>
        ) : (
          <span />
        )}
      </footer>
    </>
  );
}

export function RowLine(props: {
  dimension: string;
  value: string | null;
  label: string | null;
  metrics: string[];
  values: unknown[];
  share: number;
  link: boolean;
  onPick?: () => void;
  /** Rows of an ARIA table (the details view): the row and its cells say so. */
  table?: boolean;
}) {
  const key = filterKeyOf(props.dimension);
  const value = props.value ?? "";
  const text = props.label ?? valueLabel(key, value);
  const pick = () => {
    props.onPick?.();
    navigate((draft) => {
      draft.filters = withFilter(draft.filters, { op: "is", key, values: [value] });
      if (props.label) draft.labels[value] = props.label;
    });
  };
  return (
    <div class="row" role={props.table ? "row" : undefined}>
      <span class="bar-cell" role={props.table ? "cell" : undefined}>
        <span class="bar" style={{ width: `${Math.max(1, props.share * 100)}%` }} />
        {props.link ? (
          <button type="button" class="row-link" onClick={pick} title={text}>
            {key === "country" && <span aria-hidden="true">{flag(value)} </span>}
            {text}
          </button>
        ) : (
          <span class="row-text">{text}</span>
        )}
      </span>
      {props.metrics.map((m, i) => (
        <span class="num" key={m} role={props.table ? "cell" : undefined}>
          {metric(m, props.values[i])}
        </span>
      ))}
    </div>
  );
}
