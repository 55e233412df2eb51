import { describe, expect, it } from "vitest";
import { allowedKeys, chipText, dimensionOf, filtersToV2, fromV2, keyOf, singleIs, withFilter } from "../src/filters";

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

describe("the property menu's allow-list and saved segments' filters", () => {
  it("offers every key without an allow-list, and only the listed keys with one", () => {
    expect(allowedKeys({ props: [] }, ["plan", "author"])).toEqual(["plan", "author"]);
    expect(allowedKeys({ props: ["plan"] }, ["plan", "author"])).toEqual(["plan"]);
  });
  it("reads a saved v2 filter back as a chip's filter", () => {
    expect(fromV2(["is", "visit:source", ["Google"]])).toEqual({ op: "is", key: "source", values: ["Google"] });
    expect(fromV2(["contains", "event:props:plan", ["pro"]])).toEqual({ op: "contains", key: "props:plan", values: ["pro"] });
    expect(fromV2(["and", [["is", "visit:source", ["Google"]]]])).toBeNull();
  });
});
