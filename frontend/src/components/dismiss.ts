// Popovers (the date range, comparison, segments and options menus) close as a disclosure
// should: on Escape, with focus back on the button that opened them, and on a press anywhere
// outside them.

import type { RefObject } from "preact";
import { useEffect } from "preact/hooks";

export function useDismiss(open: boolean, box: RefObject<HTMLElement | null>, close: () => void): void {
  useEffect(() => {
    if (!open) return;
    // The page may have closed it already while this effect's cleanup waits for the next
    // frame: act only while its button still says it is open.
    const stillOpen = () => !!box.current?.querySelector('button[aria-expanded="true"]');
    const key = (e: KeyboardEvent) => {
      if (e.key !== "Escape" || !stillOpen()) return;
      // Ahead of the dashboard's shortcuts (capture phase): this Escape closes the popover
      // and does not also clear the filters.
      e.stopPropagation();
      close();
      box.current?.querySelector<HTMLElement>("button[aria-expanded]")?.focus();
    };
    const press = (e: PointerEvent) => {
      if (box.current && !box.current.contains(e.target as Node) && stillOpen()) close();
    };
    document.addEventListener("keydown", key, true);
    document.addEventListener("pointerdown", press, true);
    return () => {
      document.removeEventListener("keydown", key, true);
      document.removeEventListener("pointerdown", press, true);
    };
  }, [open]);
}
