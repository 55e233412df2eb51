// CSV export of the current view (range and filters) as a ZIP, with the file names of
// Plausible's dashboard export: visitors.csv, sources.csv, pages.csv, countries.csv, ...

import { query } from "./api";
import type { BootConfig } from "./config";
import { body, interval } from "./query";
import { REPORTS } from "./reports";
import type { DashState } from "./url";

export function csvLine(values: unknown[]): string {
  return values
    .map((v) => {
      const text = v === null || v === undefined ? "" : typeof v === "object" ? String((v as { value?: unknown }).value ?? "") : String(v);
      return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    })
    .join(",");
}

export async function exportFiles(site: BootConfig, state: DashState): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const jobs: Promise<void>[] = [];
  const unit = interval(state) === "minute" ? "time:minute" : `time:${interval(state)}`;
  const totals = ["visitors", "pageviews", "visits", "views_per_visit", "bounce_rate", "visit_duration"];
  jobs.push(
    query(body(site, state, { metrics: totals, dimensions: [unit] })).then((answer) => {
      files["visitors.csv"] = [csvLine(["date", ...totals]), ...answer.results.map((r) => csvLine([r.dimensions[0], ...r.metrics]))].join("\n") + "\n";
    }),
  );
  const seen = new Set<string>();
  for (const report of REPORTS) {
    for (const tab of report.tabs) {
      if (!tab.csv || seen.has(tab.csv) || tab.kind === "props") continue;
      seen.add(tab.csv);
      const metrics = tab.details.filter((m) => m !== "exit_rate" && !m.endsWith("_revenue") && m !== "percentage");
      const dimension = tab.dimension(state);
      jobs.push(
        query(body(site, state, { metrics, dimensions: [dimension], limit: 10000 })).then((answer) => {
          const name = dimension.replace(/^(event|visit):/, "");
          files[tab.csv] = [csvLine(["name", ...metrics]), ...answer.results.map((r) => csvLine([r.dimensions[0], ...r.metrics]))].join("\n") + "\n";
          void name;
        }),
      );
    }
  }
  await Promise.all(jobs);
  return files;
}

export async function exportCsv(site: BootConfig, state: DashState): Promise<void> {
  const [files, { zipSync, strToU8 }] = await Promise.all([exportFiles(site, state), import("fflate")]);
  const zipped = zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)])));
  const blob = new Blob([zipped as BlobPart], { type: "application/zip" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  const stamp = new Date().toISOString().slice(0, 10);
  link.download = `footfall_export_${site.domain}_${stamp}.zip`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
