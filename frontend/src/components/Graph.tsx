// The main graph, drawn as SVG: one line for the chosen metric, the comparison period's line
// under it, today's incomplete bucket dashed, hover values, the site's annotations (added by
// editors and above, shown to everyone) and, with imported data on, where it ends.

import { useEffect, useRef, useState } from "preact/hooks";
import { addAnnotation, annotations, deleteAnnotation, query, type Annotation, type V2Response } from "../api";
import type { BootConfig } from "../config";
import { metric } from "../format";
import { lineParts, scale, tickAnchor } from "../graph";
import { intervalsFor, shortDate, todayIn } from "../periods";
import { body, importsEnd, includeImports, interval, skipReason } from "../query";
import { navigate, useLoad, view } from "../state";
import { graphMetric, statLabel } from "./TopStats";

const HEIGHT = 240;
const PAD = { left: 44, right: 12, top: 12, bottom: 26 };

interface Series {
  labels: string[];
  values: (number | null)[];
  previous: (number | null)[] | null;
  meta: V2Response["meta"];
  /** The range's last day, as the server resolved it. */
  end: string;
}

async function loadSeries(site: BootConfig, request: Record<string, unknown>, compared: boolean, signal: AbortSignal): Promise<Series> {
  const answer: V2Response = await query(request, signal);
  const labels = answer.meta.time_labels ?? [];
  const byLabel = new Map(answer.results.map((r) => [String(r.dimensions[0]), Number(r.metrics[0]) || 0]));
  const values = labels.map((l) => byLabel.get(l) ?? 0);
  let previous: (number | null)[] | null = null;
  const range = answer.meta.comparison_date_range;
  if (compared && range) {
    // The comparison's own buckets (its empty ones too), paired with ours by position.
    const other = { ...request, date_range: [range[0].slice(0, 10), range[1].slice(0, 10)] } as Record<string, unknown>;
    delete other.date;
    other.include = { time_labels: true };
    const then: V2Response = await query(other, signal);
    const thenLabels = then.meta.time_labels ?? [];
    const thenBy = new Map(then.results.map((r) => [String(r.dimensions[0]), Number(r.metrics[0]) || 0]));
    previous = labels.map((_, i) => (i < thenLabels.length ? (thenBy.get(thenLabels[i]) ?? 0) : null));
  }
  void site;
  const end = String(answer.query.date_range?.[1] ?? labels[labels.length - 1] ?? "").slice(0, 10);
  return { labels, values, previous, meta: answer.meta, end };
}

function nowLabel(timezone: string): string {
  const now = new Date();
  const time = new Intl.DateTimeFormat("en-GB", { timeZone: timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(now);
  return `${todayIn(timezone, now)} ${time}`;
}

export function tickLabel(label: string, unit: string): string {
  if (unit === "minute" || unit === "hour") return label.slice(11, 16);
  if (unit === "month") return shortDate(label).split(" ")[1] + " " + label.slice(2, 4);
  return shortDate(label);
}

export function Graph({ site }: { site: BootConfig }) {
  const state = view.value;
  const chosen = graphMetric(site, state);
  const unit = interval(state);
  const dimension = unit === "minute" ? "time:minute" : `time:${unit}`;
  const request = body(site, state, { metrics: [chosen], dimensions: [dimension], compare: true, timeLabels: true });
  const compared = !!(request.include as Record<string, unknown>)?.comparisons;
  const loaded = useLoad<Series>(JSON.stringify(request), (signal) => loadSeries(site, request, compared, signal));
  const [version, setVersion] = useState(0); // bumped when a note is added or deleted
  const notes = useLoad<Annotation[]>(`annotations:${version}`, (signal) => annotations(signal));
  const withImports = includeImports(site, state);
  const importedUntil = withImports ? importsEnd(site) : null;
  const [width, setWidth] = useState(800);
  const [hover, setHover] = useState<number | null>(null);
  const [noteOpen, setNoteOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.max(280, Math.round(entry.contentRect.width))));
    observer.observe(box.current);
    return () => observer.disconnect();
  }, []);
  const series = loaded.data;
  const labels = series?.labels ?? [];
  const now = nowLabel(site.timezone);
  const { upto, solidEnd, dashed } = lineParts(labels, now, series?.end || String(labels[labels.length - 1] ?? "").slice(0, 10));
  const values = series?.values ?? [];
  const previous = series?.previous ?? null;
  const { max, ticks } = scale(Math.max(0, ...values.slice(0, upto).map((v) => v ?? 0), ...(previous ?? []).map((v) => v ?? 0)));
  const innerW = width - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (labels.length <= 1 ? innerW / 2 : (i / (labels.length - 1)) * innerW);
  const y = (v: number) => PAD.top + innerH - (v / max) * innerH;
  const line = (points: (number | null)[], from: number, to: number) =>
    points
      .slice(from, to)
      .map((v, i) => `${i ? "L" : "M"}${x(from + i).toFixed(1)},${y(v ?? 0).toFixed(1)}`)
      .join("");
  const every = Math.max(1, Math.ceil(labels.length / Math.max(2, Math.floor(innerW / 70))));
  const move = (e: MouseEvent) => {
    const rect = (e.currentTarget as SVGElement).getBoundingClientRect();
    const px = e.clientX - rect.left - PAD.left;
    const i = Math.round((px / innerW) * (labels.length - 1));
    setHover(i >= 0 && i < labels.length ? i : null);
  };
  const intervals = intervalsFor(state.period, state.from, state.to);
  const canNote = site.can_annotate && unit !== "minute";
  const dayOf = (label: string) => label.slice(0, 10);
  const indexOfDay = (day: string) =>
    labels.length && day >= dayOf(labels[0]) && day <= (series?.end || dayOf(labels[labels.length - 1]))
      ? labels.findIndex((l, k) => dayOf(l) <= day && (k === labels.length - 1 || dayOf(labels[k + 1]) > day))
      : -1;
  const noteAt = (a: Annotation) => indexOfDay(a.date);
  const shown = (notes.data ?? []).filter((a) => noteAt(a) >= 0);
  const importsAt = importedUntil && series?.meta.imports_included !== false ? indexOfDay(importedUntil) : -1;
  return (
    <section class="graph-card" aria-label="Graph">
      <header class="graph-head">
        <h2>{statLabel(chosen, state, site)}</h2>
        <div class="graph-tools">
          {loaded.loading && <span class="spinner" aria-label="Loading" />}
          {canNote && (
            <button type="button" class="link" onClick={() => setNoteOpen(!noteOpen)} aria-expanded={noteOpen}>
              + Note
            </button>
          )}
          <label>
            <span class="sr-only">Interval</span>
            <select value={unit} onChange={(e) => navigate((d) => void (d.interval = (e.target as HTMLSelectElement).value), true)}>
              {intervals.options.map((o) => (
                <option key={o} value={o}>
                  {o[0].toUpperCase() + o.slice(1)}
                </option>
              ))}
            </select>
          </label>
        </div>
      </header>
      {noteOpen && <NoteForm onDone={() => (setNoteOpen(false), setVersion(version + 1))} site={site} />}
      {withImports && series?.meta.imports_included === false && (
        <p class="imports-note" role="note">
          Imported data is not included: {skipReason(series.meta.imports_skip_reason)}.
        </p>
      )}
      <div class="graph" ref={box}>
        {loaded.error && <p class="panel-error" role="alert">{loaded.error}</p>}
        <svg width={width} height={HEIGHT} role="img" aria-label={`${statLabel(chosen, state, site)} over time`} onMouseMove={move} onMouseLeave={() => setHover(null)}>
          {ticks.map((t) => (
            <g key={t}>
              <line class="grid" x1={PAD.left} x2={width - PAD.right} y1={y(t)} y2={y(t)} />
              <text class="axis" x={PAD.left - 6} y={y(t) + 4} text-anchor="end">
                {metric(chosen, t)}
              </text>
            </g>
          ))}
          {labels.map((l, i) =>
            i % every === 0 ? (
              <text key={l} class="axis" x={x(i)} y={HEIGHT - 8} text-anchor={tickAnchor(x(i), width)}>
                {tickLabel(l, unit)}
              </text>
            ) : null,
          )}
          {previous && <path class="line previous" d={line(previous, 0, previous.length)} />}
          {series && (
            <>
              <path class="area" d={`${line(values, 0, Math.min(upto, labels.length))}L${x(Math.max(0, Math.min(upto, labels.length) - 1))},${y(0)}L${x(0)},${y(0)}Z`} />
              <path class="line" d={line(values, 0, solidEnd)} />
              {dashed && <path class="line incomplete" d={line(values, dashed[0], dashed[1])} />}
            </>
          )}
          {importsAt >= 0 && (
            <g class="imports-end">
              <line x1={x(importsAt)} x2={x(importsAt)} y1={PAD.top} y2={HEIGHT - PAD.bottom} />
              <text x={x(importsAt) - 4} y={PAD.top + 10} text-anchor="end">
                Imported data ends
              </text>
              <title>{`Imported data ends on ${importedUntil}`}</title>
            </g>
          )}
          {(notes.data ?? []).map((a) => {
            const i = noteAt(a);
            return i < 0 ? null : (
              <g key={a.id} class="note">
                <line x1={x(i)} x2={x(i)} y1={PAD.top} y2={HEIGHT - PAD.bottom} />
                <circle cx={x(i)} cy={PAD.top + 4} r={4}>
                  <title>{`${a.date}: ${a.text}`}</title>
                </circle>
              </g>
            );
          })}
          {hover !== null && labels[hover] && (
            <g>
              <line class="hover-line" x1={x(hover)} x2={x(hover)} y1={PAD.top} y2={HEIGHT - PAD.bottom} />
              {hover < upto && <circle class="dot" cx={x(hover)} cy={y(values[hover] ?? 0)} r={4} />}
            </g>
          )}
        </svg>
        {hover !== null && labels[hover] && (
          <div class="tooltip" style={{ left: Math.min(x(hover) + 10, width - 200), top: 20 }} role="status">
            <div class="tooltip-title">{labels[hover].slice(0, unit === "hour" || unit === "minute" ? 16 : 10)}</div>
            <div>
              {statLabel(chosen, state, site)}: <strong>{hover < upto ? metric(chosen, values[hover], true) : "–"}</strong>
            </div>
            {previous && previous[hover] !== null && <div class="muted">Previous: {metric(chosen, previous[hover], true)}</div>}
            {(notes.data ?? [])
              .filter((a) => noteAt(a) === hover)
              .map((a) => (
                <div key={a.id} class="note-text">
                  📝 {a.text}
                </div>
              ))}
          </div>
        )}
      </div>
      {shown.length > 0 && (
        <ul class="notes" aria-label="Annotations">
          {shown.map((a) => (
            <li key={a.id}>
              <span class="note-day">{shortDate(a.date)}</span> {a.text}
              {site.can_annotate && (
                <button type="button" class="link" aria-label={`Delete note ${a.text}`} onClick={() => deleteAnnotation(a.id).then(() => setVersion(version + 1))}>
                  Delete
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function NoteForm({ onDone, site }: { onDone: () => void; site: BootConfig }) {
  const [date, setDate] = useState(todayIn(site.timezone));
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    addAnnotation(date, text).then(
      () => onDone(),
      (failure: Error) => setError(failure.message),
    );
  };
  return (
    <form class="note-form" onSubmit={submit}>
      <label>
        Date <input type="date" value={date} required onInput={(e) => setDate((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Note <input name="text" value={text} maxLength={200} required onInput={(e) => setText((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">Save note</button>
      {error && <span class="panel-error" role="alert">{error}</span>}
    </form>
  );
}
