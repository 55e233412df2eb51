// How numbers read on the dashboard: compact counts (1.2k, 3.4M), durations (1m 05s),
// percentages, revenue. One module so the panels, the details views and the tests agree.

export function compact(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  const sign = value < 0 ? "-" : "";
  const n = Math.abs(value);
  if (n < 1000) return sign + String(Math.round(n * 100) / 100);
  const units: [number, string][] = [
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [size, suffix] of units) {
    if (n >= size) {
      const scaled = n / size;
      // 1.2k, 12k, 123k: one decimal only while it says something.
      const text = scaled < 10 ? (Math.floor(scaled * 10) / 10).toFixed(1) : String(Math.floor(scaled));
      return sign + text.replace(/\.0$/, "") + suffix;
    }
  }
  return sign + String(n);
}

export function full(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  return Math.round(value).toLocaleString("en-US");
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "-";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  const rounded = Math.round(value * 10) / 10;
  return `${rounded}%`;
}

export interface Money {
  short?: string;
  long?: string;
  value?: number;
  currency?: string;
}

export function money(value: Money | number | string | null | undefined): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number") return value.toFixed(2);
  if (typeof value === "string") return value;
  if (value.short) return value.short;
  if (value.value !== undefined && value.currency) {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: value.currency }).format(value.value);
  }
  return "-";
}

export type MetricKind = "count" | "duration" | "percent" | "money" | "decimal";

export const METRIC_KIND: Record<string, MetricKind> = {
  visitors: "count",
  visits: "count",
  pageviews: "count",
  events: "count",
  views_per_visit: "decimal",
  bounce_rate: "percent",
  visit_duration: "duration",
  time_on_page: "duration",
  scroll_depth: "percent",
  conversion_rate: "percent",
  group_conversion_rate: "percent",
  percentage: "percent",
  exit_rate: "percent",
  total_revenue: "money",
  average_revenue: "money",
};

export function metric(name: string, value: unknown, long = false): string {
  const kind = METRIC_KIND[name] ?? "count";
  if (kind === "money") return money(value as Money);
  const n = typeof value === "number" ? value : value === null || value === undefined ? null : Number(value);
  switch (kind) {
    case "duration":
      return duration(n);
    case "percent":
      return percent(n);
    case "decimal":
      return n === null ? "-" : String(Math.round(n * 100) / 100);
    default:
      return long ? full(n) : compact(n);
  }
}

/** The change against the comparison as the top stats show it: "↑ 12%", "↓ 3%", "0%". */
export function change(value: number | null | undefined): { text: string; direction: "up" | "down" | "flat" } {
  if (value === null || value === undefined || Number.isNaN(value)) return { text: "", direction: "flat" };
  if (value === 0) return { text: "0%", direction: "flat" };
  const text = `${Math.abs(Math.round(value * 10) / 10)}%`;
  return value > 0 ? { text: "↑ " + text, direction: "up" } : { text: "↓ " + text, direction: "down" };
}
