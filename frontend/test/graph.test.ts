import { describe, expect, it } from "vitest";
import { lineParts, scale, tickAnchor } from "../src/graph";

const days = ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"];

describe("lineParts", () => {
  it("dashes only the segment into today's bucket, and the solid line stops before it", () => {
    expect(lineParts(days, "2026-12-04 10:00:00", "2026-12-04")).toEqual({ upto: 4, solidEnd: 3, dashed: [2, 4] });
  });

  it("draws a range that ended before today solid to its last bucket", () => {
    expect(lineParts(days, "2026-12-09 10:00:00", "2026-12-04")).toEqual({ upto: 4, solidEnd: 4, dashed: null });
  });

  it("stops at the current bucket when the range runs into the future (month to date)", () => {
    expect(lineParts(days, "2026-12-02 08:00:00", "2026-12-31")).toEqual({ upto: 2, solidEnd: 1, dashed: [0, 2] });
  });

  it("dashes the current hour of today and the current week of a range", () => {
    const hours = ["2026-12-04 00:00:00", "2026-12-04 01:00:00", "2026-12-04 02:00:00"];
    expect(lineParts(hours, "2026-12-04 01:30:00", "2026-12-04")).toEqual({ upto: 2, solidEnd: 1, dashed: [0, 2] });
    const weeks = ["2026-11-23", "2026-11-30", "2026-12-07"];
    expect(lineParts(weeks, "2026-12-08 12:00:00", "2026-12-08")).toEqual({ upto: 3, solidEnd: 2, dashed: [1, 3] });
  });

  it("has nothing to dash when the first bucket is the current one, or none has begun", () => {
    expect(lineParts(days, "2026-12-01 00:10:00", "2026-12-04")).toEqual({ upto: 1, solidEnd: 0, dashed: null });
    expect(lineParts(days, "2026-11-30 23:00:00", "2026-12-04")).toEqual({ upto: 0, solidEnd: 0, dashed: null });
  });
});

describe("tickAnchor", () => {
  it("ends a label at its tick near the right edge, else centres it", () => {
    expect(tickAnchor(1268, 1280)).toBe("end");
    expect(tickAnchor(600, 1280)).toBe("middle");
  });
});

describe("scale", () => {
  it("puts a round top over the largest value and rules it at round steps", () => {
    expect(scale(2100)).toEqual({ max: 2500, ticks: [0, 500, 1000, 1500, 2000, 2500] });
    expect(scale(180)).toEqual({ max: 200, ticks: [0, 50, 100, 150, 200] });
    expect(scale(4)).toEqual({ max: 5, ticks: [0, 1, 2, 3, 4, 5] });
    expect(scale(1000)).toEqual({ max: 1000, ticks: [0, 250, 500, 750, 1000] });
    expect(scale(0.3)).toEqual({ max: 0.5, ticks: [0, 0.1, 0.2, 0.3, 0.4, 0.5] });
  });

  it("gives an empty graph an axis to 1", () => {
    expect(scale(0)).toEqual({ max: 1, ticks: [0, 0.25, 0.5, 0.75, 1] });
  });
});
