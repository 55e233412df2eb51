// `/sites/compare`: the same top stats side by side for each site the viewer can see, for
// the range and filters in the URL (the dashboard's `period=`, `date=`, `from=`/`to=` and
// `f=is,page,/docs`, set with the same range picker, filter dialog and chips), each site
// against its previous period. One v2 query per site, sent in parallel; each card has its
// own loading and error state. Which stats follows the filters as on the dashboard: a goal
// filter gives conversions, a page filter the page's stats.

import { useState } from "preact/hooks";
import { queryOf, suggestionsAcross, type V2Response } from "../api";
import type { BootConfig } from "../config";
import { change, metric } from "../format";
import { body, compareState } from "../query";
import { useLoad, view } from "../state";
import { serialise } from "../url";
import { FilterDialog } from "./FilterDialog";
import { statLabel, statMetrics } from "./TopStats";
import { FilterChips, PeriodMenu } from "./TopBar";

function SiteCard({ site, domain }: { site: BootConfig; domain: string }) {
  const state = compareState(view.value);
  const metrics = statMetrics(site, state);
  const request = body({ ...site, domain, imports: [] }, state, { metrics, compare: state.period !== "realtime" && state.period !== "all" });
  const loaded = useLoad<V2Response>(domain + JSON.stringify(request), (signal) => queryOf(domain, request, signal));
  const row = loaded.data?.results[0];
  const link = "/" + encodeURIComponent(domain) + serialise({ ...view.value, filters: state.filters, keep: [] });
  return (
    <section class="card compare-card" aria-label={domain} aria-busy={loaded.loading}>
      <h2>
        <a href={link}>{domain}</a>
      </h2>
      {loaded.error && (
        <p class="panel-error" role="alert">
          {loaded.error}
        </p>
      )}
      <dl class="compare-stats">
        {metrics.map((name, i) => {
          const delta = change(row?.comparison?.change[i]);
          const good = name === "bounce_rate" ? delta.direction === "down" : delta.direction === "up";
          return (
            <div class="compare-stat" key={name}>
              <dt>{statLabel(name, state, site)}</dt>
              <dd>
                <span class="stat-value">{row ? metric(name, row.metrics[i]) : "–"}</span>{" "}
                <span class={`stat-change ${delta.direction === "flat" ? "" : good ? "good" : "bad"}`}>{row?.comparison ? delta.text : ""}</span>
              </dd>
            </div>
          );
        })}
      </dl>
    </section>
  );
}

export function Compare({ site }: { site: BootConfig }) {
  const state = view.value;
  const [open, setOpen] = useState(false);
  const [adding, setAdding] = useState(false);
  const sites = site.compare_sites ?? [];
  const domains = sites.map((s) => s.domain);
  const compared = compareState(state).comparison;
  return (
    <main class="dashboard compare">
      <div class="top-bar">
        <div class="top-row">
          <h1 class="compare-title">Compare sites</h1>
          <div class="spacer" />
          {sites.length > 0 && (
            <button type="button" class="button" onClick={() => setAdding(true)} aria-haspopup="dialog">
              + Filter
            </button>
          )}
          <PeriodMenu site={site} open={open} onToggle={setOpen} />
          {state.period !== "realtime" && state.period !== "all" && (
            <span class="muted">{compared === "year_over_year" ? "vs. last year" : compared === "custom" ? "vs. custom period" : "vs. previous period"}</span>
          )}
        </div>
        <FilterChips site={site} />
      </div>
      {sites.length === 0 ? (
        <p class="card">
          You have no sites yet. <a href="/sites/new">Add your first site</a>.
        </p>
      ) : (
        <div class="compare-grid">
          {sites.map((s) => (
            <SiteCard key={s.domain} site={site} domain={s.domain} />
          ))}
        </div>
      )}
      {adding && <FilterDialog site={site} onClose={() => setAdding(false)} suggest={(request, signal) => suggestionsAcross(domains, request, signal)} />}
    </main>
  );
}
