import { describe, expect, it } from "vitest";
import type { BootConfig } from "../src/config";
import { body, importsEnd, includeImports, skipReason } from "../src/query";
import { parse } from "../src/url";

const site = (imports: { start_date: string; end_date: string }[]) =>
  ({ domain: "a.test", imports, goals: [], props: [] }) as unknown as BootConfig;

describe("imported data in the query body", () => {
  it("is on by default when the site has imports, off without", () => {
    const withImports = site([{ start_date: "2024-01-01", end_date: "2024-06-30" }]);
    expect(includeImports(withImports, parse(""))).toBe(true);
    expect(includeImports(site([]), parse(""))).toBe(false);
    expect(includeImports(withImports, parse("?with_imported=false"))).toBe(false);
    expect(includeImports(site([]), parse("?with_imported=true"))).toBe(true);
  });

  it("sends include.imports only when on", () => {
    const on = body(site([]), parse("?with_imported=true"), { metrics: ["visitors"] });
    expect(on.include).toEqual({ imports: true });
    const off = body(site([]), parse(""), { metrics: ["visitors"] });
    expect(off.include).toBeUndefined();
  });

  it("knows where imported data ends and says why it was left out", () => {
    expect(importsEnd(site([{ start_date: "2023-01-01", end_date: "2023-03-31" }, { start_date: "2023-04-01", end_date: "2023-12-31" }]))).toBe("2023-12-31");
    expect(importsEnd(site([]))).toBeNull();
    expect(skipReason("unsupported_query")).toContain("cannot answer");
    expect(skipReason("some_new_reason")).toBe("some new reason");
  });
});

describe("a page filter inside a saved segment", () => {
  it("counts as a page filter for the top stats", async () => {
    const { hasPageFilter, mentions } = await import("../src/query");
    const segments = [
      { id: 7, name: "Pricing", type: "site", segment_data: { filters: [["is", "event:page", ["/pricing"]]] } },
      { id: 8, name: "Google", type: "site", segment_data: { filters: [["or", [["is", "visit:source", ["Google"]]]]] } },
    ] as unknown as BootConfig["segments"];
    expect(hasPageFilter(parse("?f=is,segment,7"), { segments })).toBe(true);
    expect(hasPageFilter(parse("?f=is,segment,8"), { segments })).toBe(false);
    expect(hasPageFilter(parse("?f=is,page,/x"))).toBe(true);
    expect(mentions([["not", ["is", "event:page", ["/a"]]]], "event:page")).toBe(true);
  });
});

describe("which top stats the view shows", () => {
  const segments = [
    { id: 3, name: "Signed up", type: "site", segment_data: { filters: [["is", "event:goal", ["Signup"]]] } },
    { id: 4, name: "Bought from Google", type: "personal", segment_data: { filters: [["and", [["is", "visit:source", ["Google"]], ["is", "event:goal", ["Purchase"]]]]] } },
    { id: 5, name: "Docs", type: "site", segment_data: { filters: [["is", "event:page", ["/docs"]]] } },
  ] as unknown as BootConfig["segments"];
  const withSegments = { segments };

  it("switches to the goal metrics for a goal filter in the URL or inside a saved segment", async () => {
    const { goalFilter, topStatsMode } = await import("../src/query");
    expect(topStatsMode(parse("?f=is,goal,Signup"), withSegments)).toBe("goal");
    expect(topStatsMode(parse("?f=is,segment,3"), withSegments)).toBe("goal");
    expect(goalFilter(parse("?f=is,segment,3"), withSegments)).toEqual(["Signup"]);
    // a goal nested inside an `and` of the segment counts too, and its goals are known (revenue)
    expect(goalFilter(parse("?f=is,segment,4"), withSegments)).toEqual(["Purchase"]);
    expect(goalFilter(parse("?f=is,segment,3&f=is,goal,Purchase"), withSegments)).toEqual(["Purchase", "Signup"]);
  });

  it("keeps the page metrics for a page segment, the usual ones otherwise, realtime's in realtime", async () => {
    const { goalFilter, topStatsMode } = await import("../src/query");
    expect(topStatsMode(parse("?f=is,segment,5"), withSegments)).toBe("page");
    expect(topStatsMode(parse("?f=is,segment,99"), withSegments)).toBe("visits");
    expect(goalFilter(parse("?f=is,segment,5"), withSegments)).toBeNull();
    expect(topStatsMode(parse(""), withSegments)).toBe("visits");
    expect(topStatsMode(parse("?period=realtime&f=is,segment,3"), withSegments)).toBe("realtime");
  });

  it("gives the panels conversions under a goal segment", async () => {
    const { REPORTS, panelMetrics } = await import("../src/reports");
    const sources = REPORTS[0].tabs[0];
    expect(panelMetrics(sources, parse("?f=is,segment,3"), false, withSegments)).toEqual(["visitors", "conversion_rate"]);
    expect(panelMetrics(sources, parse("?f=is,segment,5"), false, withSegments)).toEqual(sources.metrics);
  });
});

describe("the compare view's query state", () => {
  it("keeps the URL's range and filters, drops saved segments, compares with the previous period by default", async () => {
    const { compareState } = await import("../src/query");
    const state = compareState(parse("?period=custom&from=2026-11-01&to=2026-11-30&f=is,page,/docs&f=is,segment,3"));
    expect([state.period, state.from, state.to]).toEqual(["custom", "2026-11-01", "2026-11-30"]);
    expect(state.filters).toEqual([{ op: "is", key: "page", values: ["/docs"] }]);
    expect(state.comparison).toBe("previous_period");
    expect(compareState(parse("?comparison=year_over_year")).comparison).toBe("year_over_year");
    expect(compareState(parse("?comparison=custom")).comparison).toBe("previous_period"); // no dates given
    const site = { domain: "a.test", imports: [], goals: [], props: [] } as unknown as BootConfig;
    expect(body(site, state, { metrics: ["visitors"], compare: true })).toMatchObject({
      date_range: ["2026-11-01", "2026-11-30"],
      filters: [["is", "event:page", ["/docs"]]],
      include: { comparisons: { mode: "previous_period" } },
    });
  });
});
