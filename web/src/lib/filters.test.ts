import { describe, expect, it } from "vitest";
import { filterParams, hasFilters, sortParam, toggleSort } from "./filters";

describe("filters", () => {
  it("passes on only what /api/calls accepts, property filters included", () => {
    const page = new URLSearchParams("model=gpt-4o&property.env=prod&node=x&sort=-cost_usd&q=&roots_only=true");
    expect(filterParams(page).toString()).toBe("model=gpt-4o&property.env=prod&roots_only=true");
  });

  it("turns a relative range into since at request time", () => {
    const now = Date.parse("2026-01-05T12:00:00Z");
    expect(filterParams(new URLSearchParams("range=1h"), now).get("since")).toBe("2026-01-05T11:00:00.000Z");
    expect(filterParams(new URLSearchParams("range=1h&since=2026-01-01T00:00:00Z"), now).get("since")).toBe("2026-01-01T00:00:00Z");
  });

  it("sorts by known keys only, descending first", () => {
    expect(sortParam(new URLSearchParams("sort=latency_ms"))).toBe("latency_ms");
    expect(sortParam(new URLSearchParams("sort=-nope"))).toBe("-started_at");
    expect(toggleSort("-started_at", "cost_usd")).toBe("-cost_usd");
    expect(toggleSort("-cost_usd", "cost_usd")).toBe("cost_usd");
    expect(hasFilters(new URLSearchParams("sort=-cost_usd"))).toBe(false);
    expect(hasFilters(new URLSearchParams("range=24h"))).toBe(true);
  });
});

describe("fmtWhen", () => {
  it("is relative within a day, a short date after", async () => {
    const { fmtWhen } = await import("./format");
    const now = new Date(2026, 11, 1, 12, 0).getTime();
    expect(fmtWhen(new Date(2026, 11, 1, 11, 58).toISOString(), now)).toBe("2 min ago");
    expect(fmtWhen(new Date(2026, 9, 30, 16, 14).toISOString(), now)).toBe("Oct 30 16:14");
    expect(fmtWhen(new Date(2025, 0, 5, 9, 0).toISOString(), now)).toBe("Jan 5 2025 09:00");
  });
});
