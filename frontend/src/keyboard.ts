// Plausible's keyboard shortcuts: D today, E yesterday, R realtime, W 7 days, F 28 days,
// T 30 days, N 91 days, M month, P last month, Y year, L 12 months, A all time, C custom
// range, X comparison on/off, Esc clears the filters (or closes a dialog).

import type { BootConfig } from "./config";
import { PERIOD_CHOICES, todayIn } from "./periods";
import { navigate, view } from "./state";
import { pickPeriod } from "./components/TopBar";

export function shortcut(key: string, site: BootConfig): boolean {
  const lower = key.toLowerCase();
  if (key === "Escape") {
    if (view.value.details) return false; // the dialog closes itself
    if (!view.value.filters.length) return false;
    navigate((d) => void (d.filters = []));
    return true;
  }
  if (lower === "x") {
    if (view.value.period === "realtime" || view.value.period === "all") return false;
    navigate((d) => void (d.comparison = d.comparison ? undefined : "previous_period"));
    return true;
  }
  const choice = PERIOD_CHOICES.find((c) => c.key === lower);
  if (!choice) return false;
  if (choice.period === "custom") {
    document.getElementById("period-button")?.click();
    return true;
  }
  pickPeriod(choice, todayIn(site.timezone));
  return true;
}

export function listen(site: BootConfig): void {
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target as HTMLElement | null;
    if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
    if (document.querySelector("dialog[open]") && e.key !== "Escape") return;
    if (shortcut(e.key, site)) e.preventDefault();
  });
}
