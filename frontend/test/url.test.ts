import { describe, expect, it } from "vitest";
import { emptyState, parse, parseFilter, serialise } from "../src/url";

describe("URL state", () => {
  it("reads Plausible's filter form", () => {
    const state = parse("?period=7d&f=is,page,/docs&f=is_not,country,DE,FR");
    expect(state.period).toBe("7d");
    expect(state.filters).toEqual([
      { op: "is", key: "page", values: ["/docs"] },
      { op: "is_not", key: "country", values: ["DE", "FR"] },
    ]);
  });

  it("writes what it reads, keeping / and : readable", () => {
    const search = "?period=30d&f=is,page,/docs&f=contains,props:plan,pro&sources=channels";
    expect(serialise(parse(search))).toBe(search);
  });

  it("escapes commas and ampersands inside values", () => {
    const state = { ...emptyState(), filters: [{ op: "is" as const, key: "utm_campaign", values: ["a,b&c", "d e"] }] };
    const search = serialise(state);
    expect(search).toBe("?f=is,utm_campaign,a%2Cb%26c,d+e");
    expect(parse(search).filters[0].values).toEqual(["a,b&c", "d e"]);
  });

  it("drops what it cannot understand", () => {
    const state = parse("?period=forever&date=2026-02-30&f=is,nonsense,x&f=likes,page,/&f=is,page&interval=decade");
    expect(state.period).toBe("28d");
    expect(state.date).toBeUndefined();
    expect(state.filters).toEqual([]);
    expect(state.interval).toBeUndefined();
  });

  it("needs both dates for a custom range, and puts them in order", () => {
    expect(parse("?period=custom&from=2026-01-05").period).toBe("28d");
    const state = parse("?period=custom&from=2026-02-01&to=2026-01-05");
    expect([state.from, state.to]).toEqual(["2026-01-05", "2026-02-01"]);
    expect(serialise(state)).toBe("?period=custom&from=2026-01-05&to=2026-02-01");
  });

  it("carries a shared link's parameters along", () => {
    const state = parse("?auth=abc123&embed=true&theme=dark&background=%23ffffff&period=day");
    expect(serialise(state)).toBe("?auth=abc123&embed=true&theme=dark&background=%23ffffff&period=day");
  });

  it("keeps one filter per property and only the labels in use", () => {
    const state = parse("?f=is,region,DE-BY&f=is,region,FR-IDF&l=DE-BY,Bavaria&l=XX,Nowhere");
    expect(state.filters).toHaveLength(1);
    expect(serialise(state)).toBe("?f=is,region,DE-BY&l=DE-BY,Bavaria");
  });

  it("reads comparison settings", () => {
    const state = parse("?comparison=custom&compare_from=2025-01-01&compare_to=2025-01-31&match_day_of_week=false");
    expect(state.comparison).toBe("custom");
    expect(state.match_day_of_week).toBe(false);
    expect(serialise(state)).toBe("?comparison=custom&compare_from=2025-01-01&compare_to=2025-01-31&match_day_of_week=false");
  });

  it("parses segments as ids only", () => {
    expect(parseFilter("is,segment,12,13")).toEqual({ op: "is", key: "segment", values: ["12", "13"] });
    expect(parseFilter("is,segment,abc")).toBeNull();
  });
});

describe("the include-imported switch in the URL", () => {
  it("reads and writes with_imported, and drops other values", () => {
    expect(parse("?with_imported=true").with_imported).toBe(true);
    expect(parse("?with_imported=false").with_imported).toBe(false);
    expect(parse("?with_imported=yes").with_imported).toBeUndefined();
    expect(serialise(parse("?period=7d&with_imported=false"))).toBe("?period=7d&with_imported=false");
    expect(serialise(parse("?period=7d"))).toBe("?period=7d");
  });
});
