// A report's details view: every row, with search, sorting by any column, paging, and the
// extra metrics Plausible shows there (exit rate for exit pages: exits / that page's pageviews).

import { useEffect, useRef, useState } from "preact/hooks";
import { query, type V2Response, type V2Row } from "../api";
import type { BootConfig } from "../config";
import { dimensionOf, filtersToV2 } from "../filters";
import { metric } from "../format";
import { body } from "../query";
import { METRIC_LABELS, openTab, panelMetrics, REPORTS, type ReportTab } from "../reports";
import { navigate, useLoad, view } from "../state";
import type { DashState } from "../url";
import { RowLine } from "./Panel";

const PAGE = 100;

interface Page {
  rows: V2Row[];
  total: number;
  exitRates?: Map<string, number>;
}

async function loadPage(site: BootConfig, state: DashState, tab: ReportTab, request: Record<string, unknown>, signal: AbortSignal): Promise<Page> {
  const answer: V2Response = await query(request, signal);
  const page: Page = { rows: answer.results, total: answer.meta.total_rows ?? answer.results.length };
  if (tab.details.includes("exit_rate") && answer.results.length) {
    const pages = answer.results.map((r) => String(r.dimensions[0] ?? ""));
    const views = await query(
      body(site, state, {
        metrics: ["pageviews"],
        dimensions: ["event:page"],
        extraFilters: [["is", "event:page", pages]],
        limit: pages.length,
      }),
      signal,
    );
    const byPage = new Map(views.results.map((r) => [String(r.dimensions[0]), Number(r.metrics[0]) || 0]));
    const visitsAt = (request.metrics as string[]).indexOf("visits");
    page.exitRates = new Map(
      answer.results.map((r) => {
        const p = String(r.dimensions[0] ?? "");
        const pv = byPage.get(p) ?? 0;
        return [p, pv ? Math.min(100, (Number(r.metrics[visitsAt]) / pv) * 100) : 0];
      }),
    );
  }
  return page;
}

export function Details({ site, id }: { site: BootConfig; id: string }) {
  const [reportId, tabId] = id.split(":");
  const report = REPORTS.find((r) => r.id === reportId);
  const state = view.value;
  const tab = report?.tabs.find((t) => t.id === tabId) ?? (report ? openTab(report, state) : undefined);
  const [search, setSearch] = useState("");
  const [order, setOrder] = useState<[string, "asc" | "desc"] | null>(null);
  const [pages, setPages] = useState(1);
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const close = () => navigate((d) => void (d.details = undefined));
  if (!report || !tab || !tab.csv) return null;
  const metrics = panelMetrics(tab, state, true, site).filter((m) => m !== "exit_rate" && (!m.endsWith("_revenue") || site.goals.some((g) => g.currency)));
  const shown = tab.details.includes("exit_rate") ? [...metrics, "exit_rate"] : metrics;
  const dimension = tab.dimension(state);
  const dims = tab.labelDimension ? [dimension, tab.labelDimension] : [dimension];
  const searchOn = tab.labelDimension ?? dimension;
  const request = body(site, state, {
    metrics,
    dimensions: dims,
    extraFilters: search ? [["contains", searchOn, [search], { case_sensitive: false }]] : [],
    orderBy: [order ?? [metrics[0], "desc"], [dims[0], "asc"]],
    limit: PAGE * pages,
    totalRows: true,
  });
  const loaded = useLoad<Page>(JSON.stringify(request), (signal) => loadPage(site, state, tab, request, signal));
  const rows = loaded.data?.rows ?? [];
  const top = Math.max(1, ...rows.map((r) => Number(r.metrics[0]) || 0));
  const current: [string, "asc" | "desc"] = order ?? [metrics[0], "desc"];
  const sortBy = (m: string) => {
    if (m === "exit_rate") return;
    setOrder(current[0] === m ? [m, current[1] === "desc" ? "asc" : "desc"] : [m, "desc"]);
  };
  void filtersToV2;
  void dimensionOf;
  return (
    <dialog ref={dialog} class="dialog details" onClose={close} aria-labelledby="details-title">
      <header class="details-head">
        <h2 id="details-title">{tab.column(state)}</h2>
        <input type="search" placeholder="Search" aria-label="Search" value={search} onInput={(e) => (setSearch((e.target as HTMLInputElement).value), setPages(1))} />
        <button type="button" class="button" onClick={close} aria-label="Close">
          ×
        </button>
      </header>
      {loaded.error && <p class="panel-error" role="alert">{loaded.error}</p>}
      {loaded.data && rows.length === 0 && <p class="panel-empty">No data</p>}
      <div class="rows details-rows" role="table" aria-labelledby="details-title" style={{ "--cols": String(Math.max(1, shown.length)) }} aria-busy={loaded.loading}>
        <div class="row row-head" role="row">
          <span role="columnheader">{tab.column(state)}</span>
          {shown.map((m) => (
            <span class="num" role="columnheader" key={m} aria-sort={current[0] === m ? (current[1] === "asc" ? "ascending" : "descending") : "none"}>
              <button type="button" class="sort" onClick={() => sortBy(m)}>
                {METRIC_LABELS[m] ?? m}
                {current[0] === m ? (current[1] === "asc" ? " ↑" : " ↓") : ""}
              </button>
            </span>
          ))}
        </div>
        {rows.map((row) => (
          <RowLine
            key={String(row.dimensions[0])}
            dimension={dimension}
            value={row.dimensions[0]}
            label={tab.labelDimension ? row.dimensions[1] : null}
            metrics={shown}
            values={[...row.metrics, loaded.data?.exitRates?.get(String(row.dimensions[0] ?? ""))]}
            share={(Number(row.metrics[0]) || 0) / top}
            link
            table
          />
        ))}
      </div>
      <footer class="details-foot">
        <span class="muted">
          {rows.length} of {loaded.data?.total ?? "…"}
        </span>
        {loaded.data && rows.length < loaded.data.total && (
          <button type="button" class="button" onClick={() => setPages(pages + 1)}>
            Load more
          </button>
        )}
        {metric("visitors", 0) === "" && <span />}
      </footer>
    </dialog>
  );
}
