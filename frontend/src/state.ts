// The one piece of shared state: the URL's, as a signal. navigate() pushes a history entry
// (Back and Forward work), popstate reads it back. A realtime tick re-runs every panel's
// query without clearing what it shows.

import { signal } from "@preact/signals";
import { useEffect, useRef, useState } from "preact/hooks";
import { parse, serialise, type DashState } from "./url";

export const view = signal<DashState>(parse(location.search));
export const tick = signal(0);

let domain = "";

export function startState(siteDomain: string): void {
  domain = siteDomain;
  const stored = localStorage.getItem(periodKey());
  if (!/[?&]period=/.test(location.search) && stored) {
    // The last period chosen on this site, as Plausible remembers it.
    const next = parse(location.search + (location.search ? "&" : "?") + "period=" + stored);
    if (next.period === stored) {
      view.value = next;
      history.replaceState(null, "", location.pathname + serialise(next));
    }
  }
  addEventListener("popstate", () => {
    view.value = parse(location.search);
  });
  setInterval(() => {
    if (view.value.period === "realtime" && document.visibilityState === "visible") tick.value++;
  }, 10_000);
}

function periodKey(): string {
  return `footfall:period:${domain}`;
}

export function navigate(change: (draft: DashState) => void, replace = false): void {
  const draft: DashState = structuredClone(view.value);
  change(draft);
  const url = location.pathname + serialise(draft);
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  if (draft.period !== "custom") localStorage.setItem(periodKey(), draft.period);
  view.value = draft;
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
}

/**
 * Runs `load` whenever `key` changes (and on each realtime tick), cancelling the previous
 * request. What was shown stays until the new answer arrives, so nothing flickers.
 */
export function useLoad<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: key !== null });
  const current = useRef(load);
  current.current = load;
  const t = tick.value;
  useEffect(() => {
    if (key === null) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    current
      .current(controller.signal)
      .then((data) => {
        if (!controller.signal.aborted) setState({ data, error: null, loading: false });
      })
      .catch((error: Error) => {
        if (!controller.signal.aborted) setState((s) => ({ data: s.data, error: error.message, loading: false }));
      });
    return () => controller.abort();
  }, [key, t]);
  return state;
}
