import { describe, expect, it } from "vitest";
import { change, compact, duration, metric, percent } from "../src/format";

describe("number formatting", () => {
  it("compacts counts as Plausible does", () => {
    expect(compact(0)).toBe("0");
    expect(compact(999)).toBe("999");
    expect(compact(1000)).toBe("1k");
    expect(compact(1234)).toBe("1.2k");
    expect(compact(12_345)).toBe("12k");
    expect(compact(1_999_999)).toBe("1.9M");
    expect(compact(10_000_000)).toBe("10M");
    expect(compact(null)).toBe("-");
  });

  it("writes durations", () => {
    expect(duration(0)).toBe("0s");
    expect(duration(65)).toBe("1m 5s");
    expect(duration(3725)).toBe("1h 2m 5s");
  });

  it("writes percentages and changes", () => {
    expect(percent(45.67)).toBe("45.7%");
    expect(change(12.3)).toEqual({ text: "↑ 12.3%", direction: "up" });
    expect(change(-3)).toEqual({ text: "↓ 3%", direction: "down" });
    expect(change(null).text).toBe("");
  });

  it("formats each metric by its kind", () => {
    expect(metric("bounce_rate", 50)).toBe("50%");
    expect(metric("visit_duration", 80)).toBe("1m 20s");
    expect(metric("views_per_visit", 1.756)).toBe("1.76");
    expect(metric("visitors", 12_345, true)).toBe("12,345");
    expect(metric("total_revenue", { short: "€20.0", long: "€20.00", value: 20, currency: "EUR" })).toBe("€20.0");
  });
});
