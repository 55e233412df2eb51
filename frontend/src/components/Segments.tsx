// Saved segments: apply one (a `segment` filter), or save the current filters as one.

import { useState } from "preact/hooks";
import { saveSegment } from "../api";
import type { BootConfig } from "../config";
import { filtersToV2, withFilter } from "../filters";
import { navigate, view } from "../state";

export function SegmentsMenu({ site }: { site: BootConfig }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [message, setMessage] = useState<string | null>(null);
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
    <div class="menu">
      <button type="button" class="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        Segments ▾
      </button>
      {open && (
        <div class="menu-list" role="menu">
          {site.segments.length === 0 && <p class="muted">No saved segments</p>}
          {site.segments.map((s) => (
            <button
              type="button"
              role="menuitem"
              key={s.id}
              onClick={() => {
                navigate((d) => void (d.filters = withFilter(d.filters, { op: "is", key: "segment", values: [String(s.id)] })));
                setOpen(false);
              }}
            >
              {s.name} <span class="muted">{s.type === "site" ? "site" : "personal"}</span>
            </button>
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
