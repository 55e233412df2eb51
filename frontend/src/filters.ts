// Dashboard filters: Plausible's short keys (`page`, `source`, `country`, `props:plan`), their
// Stats API v2 dimensions, labels for chips, and the groups of the add-filter dialog.

export type Operator = "is" | "is_not" | "contains" | "contains_not";
export const OPERATORS: { id: Operator; label: string }[] = [
  { id: "is", label: "is" },
  { id: "is_not", label: "is not" },
  { id: "contains", label: "contains" },
  { id: "contains_not", label: "does not contain" },
];

export interface DashFilter {
  op: Operator;
  key: string;
  values: string[];
}

const EVENT_KEYS = new Set(["page", "hostname", "goal", "name"]);
const VISIT_KEYS = new Set([
  "source",
  "channel",
  "referrer",
  "utm_medium",
  "utm_source",
  "utm_campaign",
  "utm_content",
  "utm_term",
  "entry_page",
  "exit_page",
  "entry_page_hostname",
  "exit_page_hostname",
  "country",
  "region",
  "city",
  "country_name",
  "region_name",
  "city_name",
  "device",
  "screen",
  "browser",
  "browser_version",
  "os",
  "os_version",
]);

export function isOperator(text: string): text is Operator {
  return OPERATORS.some((o) => o.id === text);
}

export function isFilterKey(key: string): boolean {
  return EVENT_KEYS.has(key) || VISIT_KEYS.has(key) || key === "segment" || /^props:.+/.test(key);
}

/** The v2 dimension of a short key: `page` → `event:page`, `source` → `visit:source`. */
export function dimensionOf(key: string): string {
  if (key.startsWith("props:")) return "event:" + key;
  if (EVENT_KEYS.has(key)) return "event:" + key;
  if (key === "segment") return "segment";
  return "visit:" + key;
}

/** The short key of a v2 dimension (the inverse of dimensionOf). */
export function keyOf(dimension: string): string {
  return dimension.replace(/^(event|visit):/, "");
}

export function toV2(filter: DashFilter): unknown[] {
  if (filter.key === "segment") return ["is", "segment", filter.values.map(Number)];
  return [filter.op, dimensionOf(filter.key), filter.values];
}

export function filtersToV2(filters: DashFilter[]): unknown[] {
  return filters.map(toV2);
}

export const KEY_LABELS: Record<string, string> = {
  page: "Page",
  hostname: "Hostname",
  goal: "Goal",
  source: "Source",
  channel: "Channel",
  referrer: "Referrer URL",
  utm_medium: "UTM medium",
  utm_source: "UTM source",
  utm_campaign: "UTM campaign",
  utm_content: "UTM content",
  utm_term: "UTM term",
  entry_page: "Entry page",
  exit_page: "Exit page",
  country: "Country",
  region: "Region",
  city: "City",
  device: "Screen size",
  screen: "Screen size",
  browser: "Browser",
  browser_version: "Browser version",
  os: "Operating system",
  os_version: "OS version",
  segment: "Segment",
};

export function keyLabel(key: string): string {
  if (key.startsWith("props:")) return "Property " + key.slice("props:".length);
  return KEY_LABELS[key] ?? key;
}

export function operatorLabel(op: Operator): string {
  return OPERATORS.find((o) => o.id === op)?.label ?? op;
}

/** A chip's text: "Country is Germany", "Page contains /blog or /docs". */
export function chipText(filter: DashFilter, labels: Record<string, string> = {}): string {
  const values = filter.values.map((v) => labels[v] ?? valueLabel(filter.key, v));
  return `${keyLabel(filter.key)} ${operatorLabel(filter.op)} ${values.join(" or ")}`;
}

let regionNames: Intl.DisplayNames | null = null;

export function countryName(code: string): string {
  if (!code) return "(unknown)";
  try {
    regionNames ??= new Intl.DisplayNames(["en"], { type: "region" });
    return regionNames.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

export function flag(code: string): string {
  if (!/^[A-Za-z]{2}$/.test(code)) return "🌐";
  return String.fromCodePoint(...[...code.toUpperCase()].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65));
}

export function valueLabel(key: string, value: string): string {
  if (key === "country") return countryName(value);
  return value === "" ? "(none)" : value;
}

export interface FilterGroup {
  title: string;
  keys: string[];
}

export const FILTER_GROUPS: FilterGroup[] = [
  { title: "URL", keys: ["page", "entry_page", "exit_page", "hostname"] },
  {
    title: "Acquisition",
    keys: ["source", "channel", "referrer", "utm_medium", "utm_source", "utm_campaign", "utm_content", "utm_term"],
  },
  { title: "Device", keys: ["country", "region", "city", "device", "browser", "browser_version", "os", "os_version"] },
  { title: "Behaviour", keys: ["goal", "props"] },
];

/** Whether the filters hold one `is` filter on `key` with one value (a panel then drills down). */
export function singleIs(filters: DashFilter[], key: string): string | undefined {
  const found = filters.find((f) => f.key === key && f.op === "is" && f.values.length === 1);
  return found?.values[0];
}

/** `filters` with `filter` put in place of any filter on the same key. */
export function withFilter(filters: DashFilter[], filter: DashFilter): DashFilter[] {
  return [...filters.filter((f) => f.key !== filter.key), filter];
}

export function withoutFilter(filters: DashFilter[], key: string): DashFilter[] {
  return filters.filter((f) => f.key !== key);
}

/** A saved v2 filter as a chip's filter, or null when it is not a plain one (and/or/not). */
export function fromV2(raw: unknown): DashFilter | null {
  if (!Array.isArray(raw) || raw.length < 3) return null;
  const [op, dimension, values] = raw;
  if (typeof op !== "string" || !isOperator(op) || typeof dimension !== "string" || !Array.isArray(values)) return null;
  return { op, key: keyOf(dimension), values: values.map(String) };
}

/** The keys the property menu may offer: all of them, or the allow-list's when it is set. */
export function allowedKeys(site: { props: string[] }, keys: string[]): string[] {
  return site.props.length ? keys.filter((k) => site.props.includes(k)) : keys;
}
