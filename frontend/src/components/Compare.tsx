// `/sites/compare`: the same top stats side by side for each site the viewer can see, for
// the period in the URL (the same `period=`, `date=`, `from=`/`to=` as the dashboard), each
// against its previous period. One v2 query per site, sent in parallel; each card has its own
// loading and error state.

import { queryOf, type V2Response } from "../api";
import type { BootConfig } from "../config";
import { change, metric } from "../format";
import { choiceFor, PERIOD_CHOICES, todayIn } from "../periods";
import { body } from "../query";
import { useLoad, view } from "../state";
import { serialise } from "../url";
import { STAT_LABELS } from "./TopStats";
import { pickPeriod } from "./TopBar";

export const COMPARE_METRICS = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"];

function SiteCard({ site, domain }: { site: BootConfig; domain: string }) {
  const state = { ...view.value, comparison: view.value.comparison ?? ("previous_period" as const), filters: [] };
  const request = body({ ...site, domain, imports: [] }, state, { metrics: COMPARE_METRICS, compare: state.period !== "realtime" && state.period !== "all" });
  const loaded = useLoad<V2Response>(domain + JSON.stringify(request), (signal) => queryOf(domain, request, signal));
  const row = loaded.data?.results[0];
  const link = "/" + encodeURIComponent(domain) + serialise({ ...view.value, filters: [], keep: [] });
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
        {COMPARE_METRICS.map((name, i) => {
          const delta = change(row?.comparison?.change[i]);
          const good = name === "bounce_rate" ? delta.direction === "down" : delta.direction === "up";
          return (
            <div class="compare-stat" key={name}>
              <dt>{STAT_LABELS[name]}</dt>
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
  const today = todayIn(site.timezone);
  const current = choiceFor(state.period, state.date, today);
  const sites = site.compare_sites ?? [];
  return (
    <main class="dashboard compare">
      <div class="top-bar">
        <div class="top-row">
          <h1 class="compare-title">Compare sites</h1>
          <div class="spacer" />
          <label>
            <span class="sr-only">Period</span>
            <select
              id="period-button"
              value={current?.id ?? ""}
              onChange={(e) => {
                const choice = PERIOD_CHOICES.find((c) => c.id === (e.target as HTMLSelectElement).value);
                if (choice) pickPeriod(choice, today);
              }}
            >
              {PERIOD_CHOICES.filter((c) => c.period !== "custom").map((c) => (
                <option key={c.id} value={c.id}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
          {state.period !== "realtime" && state.period !== "all" && <span class="muted">vs. previous period</span>}
        </div>
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
    </main>
  );
}
