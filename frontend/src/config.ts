// What the server tells the page about the site and the viewer (a JSON script tag the
// `/:domain` and `/share/:domain` pages render; see footfall.web.dashboard).

export interface Goal {
  name: string;
  currency: string | null;
}

export interface Funnel {
  id: number;
  name: string;
}

export interface Segment {
  id: number;
  name: string;
  type: "personal" | "site";
  owner_id?: number | null;
  segment_data: { filters: unknown[] };
}

export interface BootConfig {
  domain: string;
  timezone: string;
  /** owner, admin, editor, viewer, superuser, or "shared" (a shared link: read-only). */
  role: string;
  goals: Goal[];
  funnels: Funnel[];
  props: string[];
  sites: string[];
  segments: Segment[];
  shared_auth: string | null;
  embed: boolean;
  theme: "system" | "light" | "dark";
  background: string | null;
  csrf_token: string | null;
  can_annotate: boolean;
  can_save_segments: boolean;
  settings_url: string | null;
  stats_start: string | null;
  /** Whether the viewer may change the site's segments (owners and admins). */
  can_edit_site_segments?: boolean;
  user_id?: number | null;
  /** The days the site's completed imports cover. */
  imports?: { start_date: string; end_date: string }[];
  /** `/sites/compare`: the sites to show side by side. */
  mode?: "dashboard" | "compare";
  compare_sites?: { domain: string; timezone: string }[];
}

export function readConfig(doc: Document = document): BootConfig {
  const node = doc.getElementById("dashboard-config");
  if (!node?.textContent) throw new Error("dashboard-config is missing");
  return JSON.parse(node.textContent) as BootConfig;
}
