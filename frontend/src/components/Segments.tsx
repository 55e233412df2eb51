// Saved segments: apply one (a `segment` filter), save the current filters as one, or edit
// one (its name; its filters: drop some, or take the dashboard's current ones) and delete
// it. Who may edit is Plausible's rule: your own personal segments; the site's segments
// when you are the site's owner or an admin (the server checks again).

import { useRef, useState } from "preact/hooks";
import { deleteSegment, saveSegment, updateSegment } from "../api";
import type { BootConfig, Segment } from "../config";
import { chipText, filtersToV2, fromV2, withFilter, type DashFilter } from "../filters";
import { navigate, view } from "../state";
import { useDismiss } from "./dismiss";

export function mayEdit(site: BootConfig, segment: Segment): boolean {
  if (!site.can_save_segments) return false;
  if (segment.type === "site") return !!site.can_edit_site_segments;
  return segment.owner_id === site.user_id;
}

export function SegmentsMenu({ site }: { site: BootConfig }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const [editing, setEditing] = useState<Segment | null>(null);
  const box = useRef<HTMLDivElement>(null);
  useDismiss(open, box, () => (setOpen(false), setEditing(null)));
  const filters = view.value.filters.filter((f) => f.key !== "segment");
  if (!site.segments.length && !site.can_save_segments) return null;
  const save = (e: Event) => {
    e.preventDefault();
    saveSegment(name, filtersToV2(filters)).then(
      () => location.reload(),
      (error: Error) => setMessage(error.message),
    );
  };
  return (
    <div class="menu" ref={box}>
      <button type="button" class="button" aria-expanded={open} onClick={() => (setOpen(!open), setEditing(null))}>
        Segments ▾
      </button>
      {open && editing && <SegmentEditor segment={editing} current={filters} onCancel={() => setEditing(null)} />}
      {open && !editing && (
        <div class="menu-list">
          {site.segments.length === 0 && <p class="muted">No saved segments</p>}
          {site.segments.map((s) => (
            <div class="segment-item" key={s.id}>
              <button
                type="button"
                onClick={() => {
                  navigate((d) => void (d.filters = withFilter(d.filters, { op: "is", key: "segment", values: [String(s.id)] })));
                  setOpen(false);
                }}
              >
                {s.name} <span class="muted">{s.type === "site" ? "site" : "personal"}</span>
              </button>
              {mayEdit(site, s) && (
                <button type="button" class="link" aria-label={`Edit segment ${s.name}`} onClick={() => setEditing(s)}>
                  Edit
                </button>
              )}
            </div>
          ))}
          {site.can_save_segments && filters.length > 0 && (
            <form class="custom-range" onSubmit={save}>
              <span>Save these filters as a segment</span>
              <input aria-label="Segment name" required maxLength={255} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
              <button type="submit">Save</button>
              {message && <span class="panel-error">{message}</span>}
            </form>
          )}
        </div>
      )}
    </div>
  );
}

function SegmentEditor({ segment, current, onCancel }: { segment: Segment; current: DashFilter[]; onCancel: () => void }) {
  const saved = (segment.segment_data?.filters ?? []) as unknown[];
  const [name, setName] = useState(segment.name);
  const [kept, setKept] = useState<unknown[]>(saved);
  const [takeCurrent, setTakeCurrent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const filters = takeCurrent ? filtersToV2(current) : kept;
  const submit = (e: Event) => {
    e.preventDefault();
    if (!filters.length) return setError("A segment needs at least one filter.");
    updateSegment(segment.id, { name, segment_data: { ...segment.segment_data, filters } }).then(
      () => location.reload(),
      (failure: Error) => setError(failure.message),
    );
  };
  const remove = () => {
    if (!confirm(`Delete the segment "${segment.name}"?`)) return;
    deleteSegment(segment.id).then(
      () => {
        // A view filtered by the deleted segment would ask for it again: drop that filter.
        navigate((d) => void (d.filters = d.filters.filter((f) => !(f.key === "segment" && f.values.includes(String(segment.id))))), true);
        location.reload();
      },
      (failure: Error) => setError(failure.message),
    );
  };
  return (
    <form class="menu-list segment-editor" onSubmit={submit} aria-label={`Edit segment ${segment.name}`}>
      <label>
        Name <input name="segment-name" required maxLength={255} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <span>Filters</span>
      <ul class="chips">
        {filters.map((raw, i) => {
          const f = fromV2(raw);
          const text = f ? chipText(f) : JSON.stringify(raw);
          return (
            <li class="chip" key={text}>
              <span>{text}</span>
              {!takeCurrent && (
                <button type="button" aria-label={`Remove ${text} from the segment`} onClick={() => setKept(kept.filter((_, k) => k !== i))}>
                  ×
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {current.length > 0 && (
        <label class="check">
          <input type="checkbox" checked={takeCurrent} onChange={(e) => setTakeCurrent((e.target as HTMLInputElement).checked)} />
          Use the dashboard's current filters instead
        </label>
      )}
      <div class="dialog-actions">
        <button type="button" class="link danger" onClick={remove}>
          Delete
        </button>
        <button type="button" class="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="button primary">
          Update segment
        </button>
      </div>
      {error && <span class="panel-error" role="alert">{error}</span>}
      <span class="muted">{segment.type === "site" ? "A site segment: everyone who sees the dashboard can use it." : "A personal segment: only you see it."}</span>
    </form>
  );
}
