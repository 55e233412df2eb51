// The dashboard's only way to its data: POST /api/stats/:domain/query with a Stats API v2
// body (the answer is /api/v2/query's), plus small JSON routes for current visitors,
// funnels and annotations. A shared link's slug travels as X-Shared-Link-Auth.

import type { BootConfig } from "./config";

export interface V2Row {
  dimensions: (string | null)[];
  metrics: unknown[];
  comparison?: { dimensions: (string | null)[]; metrics: unknown[]; change: (number | null)[] };
}

export interface V2Response {
  results: V2Row[];
  meta: { time_labels?: string[]; total_rows?: number; comparison_date_range?: [string, string]; [k: string]: unknown };
  query: { date_range: [string, string]; metrics: string[]; dimensions: string[]; [k: string]: unknown };
}

export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

let config: BootConfig | null = null;

export function configure(c: BootConfig): void {
  config = c;
}

function headers(json: boolean): Record<string, string> {
  const out: Record<string, string> = { Accept: "application/json" };
  if (json) out["Content-Type"] = "application/json";
  if (config?.shared_auth) out["X-Shared-Link-Auth"] = config.shared_auth;
  if (config?.csrf_token) out["X-CSRF-Token"] = config.csrf_token;
  return out;
}

function base(): string {
  return `/api/stats/${encodeURIComponent(config?.domain ?? "")}`;
}

async function send<T>(method: string, path: string, body: unknown, signal?: AbortSignal, root = base()): Promise<T> {
  const response = await fetch(root + path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal,
  });
  const text = await response.text();
  let payload: unknown = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiFailure(`The server answered ${response.status} without JSON.`, response.status);
  }
  if (!response.ok) {
    const message = (payload as { error?: string } | null)?.error ?? `The server answered ${response.status}.`;
    throw new ApiFailure(message, response.status);
  }
  return payload as T;
}

export function query(body: Record<string, unknown>, signal?: AbortSignal): Promise<V2Response> {
  return send<V2Response>("POST", "/query", body, signal);
}

export function currentVisitors(signal?: AbortSignal): Promise<number> {
  return send<{ visitors: number }>("GET", "/current-visitors", undefined, signal).then((r) => r.visitors);
}

export interface FunnelStep {
  label: string;
  visitors: number;
  conversion_rate: string;
  conversion_rate_step: string;
  dropoff: number;
  dropoff_percentage: string;
}

export interface FunnelAnswer {
  name: string;
  steps: FunnelStep[];
  all_visitors: number;
  entering_visitors: number;
  never_entering_visitors: number;
}

export function funnel(body: Record<string, unknown>, signal?: AbortSignal): Promise<FunnelAnswer> {
  return send<FunnelAnswer>("POST", "/funnel", body, signal);
}

export interface Annotation {
  id: number;
  date: string;
  text: string;
}

export function annotations(signal?: AbortSignal): Promise<Annotation[]> {
  return send<{ annotations: Annotation[] }>("GET", "/annotations", undefined, signal).then((r) => r.annotations);
}

export function addAnnotation(date: string, text: string): Promise<Annotation> {
  return send<Annotation>("POST", "/annotations", { date, text });
}

export function deleteAnnotation(id: number): Promise<void> {
  return send<unknown>("DELETE", `/annotations/${id}`, undefined).then(() => undefined);
}

export function propertyKeys(body: Record<string, unknown>, signal?: AbortSignal): Promise<string[]> {
  return send<{ keys: string[] }>("POST", "/property-keys", body, signal).then((r) => r.keys);
}

export function saveSegment(name: string, filters: unknown[]): Promise<unknown> {
  return send<unknown>("POST", "/segments", { name, type: "personal", segment_data: { filters } });
}

export function updateSegment(id: number, change: { name?: string; segment_data?: { filters: unknown[] } }): Promise<unknown> {
  return send<unknown>("PATCH", `/segments/${id}`, change);
}

export function deleteSegment(id: number): Promise<unknown> {
  return send<unknown>("DELETE", `/segments/${id}`, undefined);
}

/** A v2 query of another of the viewer's sites (the compare view). */
export function queryOf(domain: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<V2Response> {
  return send<V2Response>("POST", "/query", { ...body, site_id: domain }, signal, `/api/stats/${encodeURIComponent(domain)}`);
}

export function suggestions(body: Record<string, unknown>, signal?: AbortSignal): Promise<string[]> {
  return query(body, signal).then((r) => r.results.map((row) => String(row.dimensions[0] ?? "")));
}

/**
 * Filter suggestions from several sites at once (the compare view): each site's values of
 * the dimension, ranked by their visitors summed over the sites.
 */
export async function suggestionsAcross(domains: string[], body: Record<string, unknown>, signal?: AbortSignal): Promise<string[]> {
  const answers = await Promise.allSettled(domains.map((domain) => queryOf(domain, body, signal)));
  const failed = answers.find((a): a is PromiseRejectedResult => a.status === "rejected");
  if (failed && answers.every((a) => a.status === "rejected")) throw failed.reason;
  const visitors = new Map<string, number>();
  for (const answer of answers) {
    if (answer.status !== "fulfilled") continue;
    for (const row of answer.value.results) {
      const value = String(row.dimensions[0] ?? "");
      visitors.set(value, (visitors.get(value) ?? 0) + Number(row.metrics[0] ?? 0));
    }
  }
  const limit = Number((body.pagination as { limit?: number } | undefined)?.limit ?? 10);
  return [...visitors].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([value]) => value);
}
