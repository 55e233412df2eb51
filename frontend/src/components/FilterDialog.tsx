// The add-filter dialog: a property from the URL / Acquisition / Device / Behaviour groups,
// an operator, and values with suggestions from the data (a v2 query on that dimension; the
// compare view asks each of its sites).

import { useEffect, useRef, useState } from "preact/hooks";
import { suggestions } from "../api";
import type { BootConfig } from "../config";
import { dimensionOf, FILTER_GROUPS, keyLabel, OPERATORS, withFilter, type Operator } from "../filters";
import { body } from "../query";
import { navigate, useLoad, view } from "../state";

type Suggest = (request: Record<string, unknown>, signal: AbortSignal) => Promise<string[]>;

export function FilterDialog({ site, onClose, suggest = suggestions }: { site: BootConfig; onClose: () => void; suggest?: Suggest }) {
  const [key, setKey] = useState("page");
  const [propKey, setPropKey] = useState("");
  const [op, setOp] = useState<Operator>("is");
  const [text, setText] = useState("");
  const [values, setValues] = useState<string[]>([]);
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const realKey = key === "props" ? (propKey ? "props:" + propKey : "") : key;
  const state = view.value;
  const others = state.filters.filter((f) => f.key !== realKey);
  const request =
    realKey && realKey !== "goal"
      ? body(site, state, {
          metrics: ["visitors"],
          dimensions: [dimensionOf(realKey)],
          filters: others,
          extraFilters: text ? [["contains", dimensionOf(realKey), [text], { case_sensitive: false }]] : [],
          limit: 10,
        })
      : null;
  const found = useLoad<string[]>(request ? JSON.stringify(request) : null, (signal) => suggest(request!, signal));
  const offered = realKey === "goal" ? site.goals.map((g) => g.name).filter((n) => n.toLowerCase().includes(text.toLowerCase())) : (found.data ?? []);
  const add = (value: string) => {
    if (value && !values.includes(value)) setValues([...values, value]);
    setText("");
  };
  const apply = (e: Event) => {
    e.preventDefault();
    const chosen = values.length ? values : text ? [text] : [];
    if (!realKey || !chosen.length) return;
    navigate((d) => void (d.filters = withFilter(d.filters, { op, key: realKey, values: chosen })));
    onClose();
  };
  return (
    <dialog ref={dialog} class="dialog" onClose={onClose} aria-labelledby="filter-title">
      <form onSubmit={apply}>
        <h2 id="filter-title">Add filter</h2>
        <label>
          Property
          <select value={key} onChange={(e) => (setKey((e.target as HTMLSelectElement).value), setValues([]))}>
            {FILTER_GROUPS.map((g) => (
              <optgroup label={g.title} key={g.title}>
                {g.keys.map((k) => (
                  <option value={k} key={k}>
                    {k === "props" ? "Property" : keyLabel(k)}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </label>
        {key === "props" && (
          <label>
            Property key
            <input list="prop-keys" value={propKey} required onInput={(e) => setPropKey((e.target as HTMLInputElement).value)} />
            <datalist id="prop-keys">
              {site.props.map((p) => (
                <option value={p} key={p} />
              ))}
            </datalist>
          </label>
        )}
        <label>
          Operator
          <select value={op} onChange={(e) => setOp((e.target as HTMLSelectElement).value as Operator)}>
            {OPERATORS.map((o) => (
              <option value={o.id} key={o.id}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Value
          <input
            value={text}
            autoFocus
            placeholder="Type to search"
            onInput={(e) => setText((e.target as HTMLInputElement).value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && text) {
                e.preventDefault();
                add(text);
              }
            }}
          />
        </label>
        {values.length > 0 && (
          <ul class="chips">
            {values.map((v) => (
              <li class="chip" key={v}>
                {v}
                <button type="button" aria-label={`Remove ${v}`} onClick={() => setValues(values.filter((x) => x !== v))}>
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        <ul class="suggestions" aria-label="Suggestions">
          {offered.slice(0, 10).map((v) => (
            <li key={v}>
              <button type="button" class="link" onClick={() => add(v)}>
                {v || "(none)"}
              </button>
            </li>
          ))}
        </ul>
        <div class="dialog-actions">
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button primary">
            Apply filter
          </button>
        </div>
      </form>
    </dialog>
  );
}
