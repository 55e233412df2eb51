// The Funnels tab: pick one of the site's funnels, see each step's visitors, conversion and
// drop-off as bars.

import { funnel, type FunnelAnswer } from "../api";
import type { BootConfig } from "../config";
import { compact } from "../format";
import { body } from "../query";
import { navigate, useLoad, view } from "../state";

export function Funnels({ site }: { site: BootConfig }) {
  const state = view.value;
  const chosen = site.funnels.find((f) => String(f.id) === state.funnel) ?? site.funnels[0];
  const request = chosen ? { ...body(site, state, { metrics: ["visitors"] }), funnel_id: chosen.id } : null;
  const loaded = useLoad<FunnelAnswer>(request ? JSON.stringify(request) : null, (signal) => funnel(request!, signal));
  if (!chosen) return <p class="panel-empty">No funnels yet: an editor adds them in the site's settings.</p>;
  const steps = loaded.data?.steps ?? [];
  const top = Math.max(1, ...steps.map((s) => s.visitors));
  return (
    <div class="funnel" aria-busy={loaded.loading}>
      <label class="funnel-pick">
        <span class="sr-only">Funnel</span>
        <select
          value={String(chosen.id)}
          onChange={(e) => navigate((d) => void (d.funnel = (e.target as HTMLSelectElement).value), true)}
        >
          {site.funnels.map((f) => (
            <option key={f.id} value={String(f.id)}>
              {f.name}
            </option>
          ))}
        </select>
      </label>
      {loaded.error && <p class="panel-error" role="alert">{loaded.error}</p>}
      {!loaded.data && !loaded.error && <div class="panel-loading" aria-label="Loading" />}
      {loaded.data && (
        <ol class="funnel-steps">
          {steps.map((step, i) => (
            <li key={step.label + i}>
              <div class="funnel-label">
                <span>
                  {i + 1}. {step.label}
                </span>
                <span class="num">
                  {compact(step.visitors)} · {step.conversion_rate}%
                </span>
              </div>
              <div class="funnel-track">
                <div class="funnel-bar" style={{ width: `${(step.visitors / top) * 100}%` }} />
              </div>
              {i > 0 && (
                <div class="funnel-drop">
                  Dropoff {compact(step.dropoff)} ({step.dropoff_percentage}%)
                </div>
              )}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
