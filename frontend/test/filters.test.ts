import { describe, expect, it } from "vitest";
import { chipText, dimensionOf, filtersToV2, keyOf, singleIs, withFilter } from "../src/filters";

describe("filters", () => {
  it("maps short keys to v2 dimensions and back", () => {
    expect(dimensionOf("page")).toBe("event:page");
    expect(dimensionOf("goal")).toBe("event:goal");
    expect(dimensionOf("props:plan")).toBe("event:props:plan");
    expect(dimensionOf("source")).toBe("visit:source");
    expect(dimensionOf("country")).toBe("visit:country");
    expect(keyOf("event:props:plan")).toBe("props:plan");
    expect(keyOf("visit:utm_medium")).toBe("utm_medium");
  });

  it("writes v2 filters, segments as ids", () => {
    expect(
      filtersToV2([
        { op: "contains", key: "page", values: ["/blog"] },
        { op: "is", key: "segment", values: ["4"] },
      ]),
    ).toEqual([
      ["contains", "event:page", ["/blog"]],
      ["is", "segment", [4]],
    ]);
  });

  it("labels chips in words", () => {
    expect(chipText({ op: "is", key: "country", values: ["DE", "FR"] })).toBe("Country is Germany or France");
    expect(chipText({ op: "contains_not", key: "page", values: ["/admin"] })).toBe("Page does not contain /admin");
    expect(chipText({ op: "is", key: "region", values: ["DE-BY"] }, { "DE-BY": "Bavaria" })).toBe("Region is Bavaria");
  });

  it("replaces a filter on the same key and finds a drill-down", () => {
    const filters = withFilter([{ op: "is", key: "source", values: ["Google"] }], { op: "is", key: "source", values: ["Bing"] });
    expect(filters).toEqual([{ op: "is", key: "source", values: ["Bing"] }]);
    expect(singleIs(filters, "source")).toBe("Bing");
    expect(singleIs([{ op: "is", key: "source", values: ["a", "b"] }], "source")).toBeUndefined();
  });
});
