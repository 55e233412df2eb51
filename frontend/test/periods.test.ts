import { describe, expect, it } from "vitest";
import { addDays, choiceDate, choiceFor, intervalsFor, PERIOD_CHOICES, todayIn } from "../src/periods";
import { dateRange } from "../src/query";
import { parse } from "../src/url";

describe("periods", () => {
  it("has Plausible's keyboard keys, each once", () => {
    const keys = PERIOD_CHOICES.map((c) => c.key);
    expect(keys.sort()).toEqual(["a", "c", "d", "e", "f", "l", "m", "n", "p", "r", "t", "w", "y"]);
  });

  it("knows today in the site's zone", () => {
    const moment = new Date("2026-03-10T23:30:00Z");
    expect(todayIn("Etc/UTC", moment)).toBe("2026-03-10");
    expect(todayIn("Europe/Berlin", moment)).toBe("2026-03-11");
    expect(todayIn("America/New_York", moment)).toBe("2026-03-10");
  });

  it("turns yesterday and last month into reference dates", () => {
    const yesterday = PERIOD_CHOICES.find((c) => c.id === "yesterday")!;
    const lastMonth = PERIOD_CHOICES.find((c) => c.id === "last_month")!;
    expect(choiceDate(yesterday, "2026-03-01")).toBe("2026-02-28");
    expect(choiceDate(lastMonth, "2026-03-31")).toBe("2026-02-01");
    expect(choiceFor("day", "2026-02-28", "2026-03-01")?.id).toBe("yesterday");
    expect(addDays("2024-02-28", 1)).toBe("2024-02-29");
  });

  it("writes v2 date ranges", () => {
    expect(dateRange(parse("?period=30d"))).toEqual({ date_range: "30d" });
    expect(dateRange(parse("?period=day&date=2026-03-09"))).toEqual({ date_range: "day", date: "2026-03-09" });
    expect(dateRange(parse("?period=custom&from=2026-01-01&to=2026-01-31"))).toEqual({ date_range: ["2026-01-01", "2026-01-31"] });
    expect(intervalsFor("day").default).toBe("hour");
    expect(intervalsFor("realtime").options).toEqual(["minute"]);
  });
});
