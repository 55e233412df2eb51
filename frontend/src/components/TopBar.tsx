// The top bar: site switcher, date range picker, comparison, filter chips, the add-filter
// button, saved segments and the options menu (CSV export, include imported data, theme).

import { useRef, useState } from "preact/hooks";
import type { BootConfig } from "../config";
import { chipText, withoutFilter } from "../filters";
import { choiceDate, choiceFor, PERIOD_CHOICES, shortDate, todayIn, type PeriodChoice } from "../periods";
import { includeImports } from "../query";
import { navigate, view } from "../state";
import { exportCsv } from "../export";
import { useDismiss } from "./dismiss";
import { SegmentsMenu } from "./Segments";

export function pickPeriod(choice: PeriodChoice, today: string): void {
  if (choice.period === "custom") return;
  navigate((d) => {
    d.period = choice.period;
    d.date = choiceDate(choice, today);
    d.from = d.to = undefined;
    d.interval = undefined;
  });
}

export function TopBar({ site, onAddFilter }: { site: BootConfig; onAddFilter: () => void }) {
  const state = view.value;
  const [open, setOpen] = useState<"period" | "compare" | "options" | null>(null);
  const toggle = (menu: typeof open) => setOpen(open === menu ? null : menu);
  const compareBox = useRef<HTMLDivElement>(null);
  const optionsBox = useRef<HTMLDivElement>(null);
  useDismiss(open === "compare", compareBox, () => setOpen(null));
  useDismiss(open === "options", optionsBox, () => setOpen(null));
  const compareText = state.comparison === "year_over_year" ? "vs. last year" : state.comparison === "custom" ? "vs. custom" : state.comparison ? "vs. previous period" : "Compare";
  return (
    <div class="top-bar">
      <div class="top-row">
        {site.embed ? (
          <span class="site-name">{site.domain}</span>
        ) : (
          <label class="site-switch">
            <span class="sr-only">Site</span>
            <select value={site.domain} onChange={(e) => (location.href = "/" + encodeURIComponent((e.target as HTMLSelectElement).value))} disabled={site.sites.length < 2}>
              {(site.sites.length ? site.sites : [site.domain]).map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </label>
        )}
        <div class="spacer" />
        <SegmentsMenu site={site} />
        <button type="button" class="button" onClick={onAddFilter} aria-haspopup="dialog">
          + Filter
        </button>
        <PeriodMenu site={site} open={open === "period"} onToggle={(on) => setOpen(on ? "period" : null)} />
        {state.period !== "realtime" && state.period !== "all" && (
          <div class="menu" ref={compareBox}>
            <button type="button" class="button" aria-expanded={open === "compare"} onClick={() => toggle("compare")}>
              {compareText} ▾
            </button>
            {open === "compare" && (
              <div class="menu-list">
                {(
                  [
                    [undefined, "No comparison"],
                    ["previous_period", "Previous period"],
                    ["year_over_year", "Year over year"],
                  ] as const
                ).map(([mode, label]) => (
                  <button type="button" key={label} class={state.comparison === mode ? "selected" : ""} onClick={() => (navigate((d) => void (d.comparison = mode)), setOpen(null))}>
                    {label}
                    {mode === undefined && <kbd>X</kbd>}
                  </button>
                ))}
                <form
                  class="custom-range"
                  onSubmit={(e) => {
                    e.preventDefault();
                    const data = new FormData(e.currentTarget as HTMLFormElement);
                    navigate((d) => {
                      d.comparison = "custom";
                      d.compare_from = String(data.get("compare_from"));
                      d.compare_to = String(data.get("compare_to"));
                    });
                    setOpen(null);
                  }}
                >
                  <span>Custom comparison</span>
                  <input type="date" name="compare_from" aria-label="Compare from" required defaultValue={state.compare_from} />
                  <input type="date" name="compare_to" aria-label="Compare to" required defaultValue={state.compare_to} />
                  <button type="submit">Apply</button>
                </form>
                <label class="check">
                  <input type="checkbox" checked={state.match_day_of_week} onChange={(e) => navigate((d) => void (d.match_day_of_week = (e.target as HTMLInputElement).checked), true)} />
                  Match day of the week
                </label>
              </div>
            )}
          </div>
        )}
        <div class="menu" ref={optionsBox}>
          <button type="button" class="button" aria-label="Options" aria-expanded={open === "options"} onClick={() => toggle("options")}>
            ⋯
          </button>
          {open === "options" && (
            <div class="menu-list right">
              <button type="button" onClick={() => (exportCsv(site, view.value), setOpen(null))}>
                Export CSV (ZIP)
              </button>
              {((site.imports?.length ?? 0) > 0 || state.with_imported !== undefined) && (
                <label class="check">
                  <input
                    type="checkbox"
                    checked={includeImports(site, state)}
                    onChange={(e) => navigate((d) => void (d.with_imported = (e.target as HTMLInputElement).checked))}
                  />
                  Include imported data
                </label>
              )}
              {site.settings_url && (
                <a href={site.settings_url}>
                  Site settings
                </a>
              )}
              <ThemeChoice />
            </div>
          )}
        </div>
      </div>
      <FilterChips site={site} />
    </div>
  );
}

/** The date range picker: the periods with their shortcut keys, and a custom range. */
export function PeriodMenu({ site, open, onToggle }: { site: Pick<BootConfig, "timezone">; open: boolean; onToggle: (open: boolean) => void }) {
  const state = view.value;
  const today = todayIn(site.timezone);
  const [from, setFrom] = useState(state.from ?? today);
  const [to, setTo] = useState(state.to ?? today);
  const current = choiceFor(state.period, state.date, today);
  const box = useRef<HTMLDivElement>(null);
  useDismiss(open, box, () => onToggle(false));
  const periodText =
    state.period === "custom" && state.from && state.to
      ? `${shortDate(state.from, true)} – ${shortDate(state.to, true)}`
      : state.date && current && !current.relative && state.date !== today
        ? `${current.label} (${shortDate(state.date, true)})`
        : (current?.label ?? state.period);
  return (
    <div class="menu" ref={box}>
      <button type="button" class="button" aria-expanded={open} onClick={() => onToggle(!open)} id="period-button">
        {periodText} ▾
      </button>
      {open && (
        <div class="menu-list">
          {PERIOD_CHOICES.filter((c) => c.period !== "custom").map((c) => (
            <button type="button" key={c.id} class={current?.id === c.id ? "selected" : ""} onClick={() => (pickPeriod(c, today), onToggle(false))}>
              <span>{c.label}</span>
              <kbd>{c.key.toUpperCase()}</kbd>
            </button>
          ))}
          <form
            class="custom-range"
            onSubmit={(e) => {
              e.preventDefault();
              navigate((d) => {
                d.period = "custom";
                [d.from, d.to] = from <= to ? [from, to] : [to, from];
                d.date = undefined;
                d.interval = undefined;
              });
              onToggle(false);
            }}
          >
            <span>Custom range <kbd>C</kbd></span>
            <input type="date" aria-label="From" value={from} max={today} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
            <input type="date" aria-label="To" value={to} max={today} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
            <button type="submit">Apply</button>
          </form>
        </div>
      )}
    </div>
  );
}

/** The filter chips of the URL, each removable, and "Clear all" when there are several. */
export function FilterChips({ site }: { site: Pick<BootConfig, "segments"> }) {
  const state = view.value;
  if (!state.filters.length) return null;
  return (
    <ul class="chips" aria-label="Filters">
      {state.filters.map((f) => (
        <li key={f.key} class="chip">
          <span>{f.key === "segment" ? segmentText(site, f.values) : chipText(f, state.labels)}</span>
          <button type="button" aria-label={`Remove filter ${chipText(f, state.labels)}`} onClick={() => navigate((d) => void (d.filters = withoutFilter(d.filters, f.key)))}>
            ×
          </button>
        </li>
      ))}
      {state.filters.length > 1 && (
        <li>
          <button type="button" class="link" onClick={() => navigate((d) => void (d.filters = []))}>
            Clear all
          </button>
        </li>
      )}
    </ul>
  );
}

function segmentText(site: Pick<BootConfig, "segments">, ids: string[]): string {
  const names = ids.map((id) => site.segments.find((s) => String(s.id) === id)?.name ?? `#${id}`);
  return `Segment is ${names.join(" or ")}`;
}

function ThemeChoice() {
  const stored = localStorage.getItem("footfall:theme") ?? "system";
  return (
    <label class="check">
      Theme{" "}
      <select
        value={stored}
        onChange={(e) => {
          const value = (e.target as HTMLSelectElement).value;
          localStorage.setItem("footfall:theme", value);
          applyTheme(value);
        }}
      >
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

export function applyTheme(theme: string): void {
  const dark = theme === "dark" || (theme === "system" && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}
