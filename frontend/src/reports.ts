// One declarative list of every report: its panel, tabs, dimension (with drill-downs),
// the metrics of the panel and of its details view, the key a click filters by, and the CSV
// file the export writes. Panels, details views and the export all read it.

import type { BootConfig } from "./config";
import { singleIs } from "./filters";
import { hasGoalFilter } from "./query";
import type { DashState } from "./url";

export interface ReportTab {
  id: string;
  label: string;
  /** The v2 dimension of this tab in this state (drill-downs change it). */
  dimension: (state: DashState) => string;
  /** The column header of the dimension. */
  column: (state: DashState) => string;
  metrics: string[];
  details: string[];
  csv: string;
  /** A second dimension that names the first's values (region codes → names). */
  labelDimension?: string;
  /** How the tab draws its rows. */
  kind?: "list" | "map" | "goals" | "props" | "funnels";
}

export interface Report {
  id: string;
  title: string;
  tabs: ReportTab[];
}

const same = (dimension: string) => () => dimension;
const named = (label: string) => () => label;

export const UTM_TABS = [
  { id: "utm_medium", label: "UTM Medium" },
  { id: "utm_source", label: "UTM Source" },
  { id: "utm_campaign", label: "UTM Campaign" },
  { id: "utm_content", label: "UTM Content" },
  { id: "utm_term", label: "UTM Term" },
];

export const REPORTS: Report[] = [
  {
    id: "sources",
    title: "Top Sources",
    tabs: [
      {
        id: "channels",
        label: "Channels",
        dimension: same("visit:channel"),
        column: named("Channel"),
        metrics: ["visitors"],
        details: ["visitors", "bounce_rate", "visit_duration"],
        csv: "channels.csv",
      },
      {
        id: "sources",
        label: "Sources",
        dimension: (s) => (singleIs(s.filters, "source") !== undefined ? "visit:referrer" : "visit:source"),
        column: (s) => (singleIs(s.filters, "source") !== undefined ? "Referrer" : "Source"),
        metrics: ["visitors"],
        details: ["visitors", "bounce_rate", "visit_duration"],
        csv: "sources.csv",
      },
      ...UTM_TABS.map((utm) => ({
        id: utm.id,
        label: utm.label,
        dimension: same("visit:" + utm.id),
        column: named(utm.label),
        metrics: ["visitors"],
        details: ["visitors", "bounce_rate", "visit_duration"],
        csv: utm.id + "s.csv",
      })),
    ],
  },
  {
    id: "pages",
    title: "Top Pages",
    tabs: [
      {
        id: "pages",
        label: "Top Pages",
        dimension: same("event:page"),
        column: named("Page"),
        metrics: ["visitors"],
        details: ["visitors", "pageviews", "bounce_rate", "time_on_page", "scroll_depth"],
        csv: "pages.csv",
      },
      {
        id: "entry-pages",
        label: "Entry Pages",
        dimension: same("visit:entry_page"),
        column: named("Entry page"),
        metrics: ["visitors"],
        details: ["visitors", "visits", "bounce_rate", "visit_duration"],
        csv: "entry_pages.csv",
      },
      {
        id: "exit-pages",
        label: "Exit Pages",
        dimension: same("visit:exit_page"),
        column: named("Exit page"),
        metrics: ["visitors"],
        details: ["visitors", "visits", "exit_rate"],
        csv: "exit_pages.csv",
      },
    ],
  },
  {
    id: "locations",
    title: "Locations",
    tabs: [
      {
        id: "map",
        label: "Map",
        dimension: same("visit:country"),
        column: named("Country"),
        metrics: ["visitors"],
        details: ["visitors", "percentage"],
        csv: "countries.csv",
        kind: "map",
      },
      {
        id: "countries",
        label: "Countries",
        dimension: same("visit:country"),
        column: named("Country"),
        metrics: ["visitors"],
        details: ["visitors", "percentage"],
        csv: "countries.csv",
      },
      {
        id: "regions",
        label: "Regions",
        dimension: same("visit:region"),
        labelDimension: "visit:region_name",
        column: named("Region"),
        metrics: ["visitors"],
        details: ["visitors", "percentage"],
        csv: "regions.csv",
      },
      {
        id: "cities",
        label: "Cities",
        dimension: same("visit:city"),
        column: named("City"),
        metrics: ["visitors"],
        details: ["visitors", "percentage"],
        csv: "cities.csv",
      },
    ],
  },
  {
    id: "devices",
    title: "Devices",
    tabs: [
      {
        id: "browsers",
        label: "Browser",
        dimension: (s) => (singleIs(s.filters, "browser") !== undefined ? "visit:browser_version" : "visit:browser"),
        column: (s) => (singleIs(s.filters, "browser") !== undefined ? "Browser version" : "Browser"),
        metrics: ["visitors", "percentage"],
        details: ["visitors", "percentage", "bounce_rate", "visit_duration"],
        csv: "browsers.csv",
      },
      {
        id: "os",
        label: "OS",
        dimension: (s) => (singleIs(s.filters, "os") !== undefined ? "visit:os_version" : "visit:os"),
        column: (s) => (singleIs(s.filters, "os") !== undefined ? "OS version" : "Operating system"),
        metrics: ["visitors", "percentage"],
        details: ["visitors", "percentage", "bounce_rate", "visit_duration"],
        csv: "operating_systems.csv",
      },
      {
        id: "size",
        label: "Size",
        dimension: same("visit:device"),
        column: named("Screen size"),
        metrics: ["visitors", "percentage"],
        details: ["visitors", "percentage", "bounce_rate", "visit_duration"],
        csv: "devices.csv",
      },
    ],
  },
  {
    id: "behaviours",
    title: "Behaviours",
    tabs: [
      {
        id: "goals",
        label: "Goals",
        dimension: same("event:goal"),
        column: named("Goal"),
        metrics: ["visitors", "events", "conversion_rate"],
        details: ["visitors", "events", "conversion_rate", "total_revenue", "average_revenue"],
        csv: "conversions.csv",
        kind: "goals",
      },
      {
        id: "props",
        label: "Properties",
        dimension: (s) => "event:props:" + (s.prop_key ?? ""),
        column: (s) => s.prop_key ?? "Property",
        metrics: ["visitors", "events", "percentage"],
        details: ["visitors", "events", "percentage"],
        csv: "custom_props.csv",
        kind: "props",
      },
      {
        id: "funnels",
        label: "Funnels",
        dimension: same(""),
        column: named("Step"),
        metrics: [],
        details: [],
        csv: "",
        kind: "funnels",
      },
    ],
  },
];

/** The open tab of a report: the URL's, else the first (Campaigns' UTM tabs share a slot). */
export function openTab(report: Report, state: DashState): ReportTab {
  return report.tabs.find((t) => t.id === state.tabs[report.id]) ?? report.tabs[0];
}

export function tabsShown(report: Report, site: BootConfig): ReportTab[] {
  if (report.id !== "behaviours") return report.tabs;
  return report.tabs.filter((t) => t.kind !== "funnels" || site.funnels.length > 0);
}

/** Metrics of a panel in this state: with a goal filter, conversions and their rate. */
export function panelMetrics(tab: ReportTab, state: DashState, details = false, site?: Pick<BootConfig, "segments">): string[] {
  const goal = hasGoalFilter(state, site);
  if (goal && tab.kind !== "goals") return details ? ["visitors", "events", "conversion_rate"] : ["visitors", "conversion_rate"];
  return details ? tab.details : tab.metrics;
}

/** The filter key a row of this dimension sets when clicked. */
export function filterKeyOf(dimension: string): string {
  return dimension.replace(/^(event|visit):/, "");
}

export const METRIC_LABELS: Record<string, string> = {
  visitors: "Visitors",
  visits: "Visits",
  pageviews: "Pageviews",
  events: "Events",
  views_per_visit: "Views per visit",
  bounce_rate: "Bounce rate",
  visit_duration: "Visit duration",
  time_on_page: "Time on page",
  scroll_depth: "Scroll depth",
  conversion_rate: "CR",
  percentage: "%",
  exit_rate: "Exit rate",
  total_revenue: "Revenue",
  average_revenue: "Average",
};
