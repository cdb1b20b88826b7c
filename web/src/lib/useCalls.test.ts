import { describe, expect, it } from "vitest";
import { mergeNewer, type Row } from "./useCalls";

const row = (id: string, at: string, status: Row["status"] = "ok"): Row =>
  ({ id, started_at: at, status }) as unknown as Row;

describe("mergeNewer", () => {
  const shown = [row("c", "2026-01-05T09:00:03Z"), row("b", "2026-01-05T09:00:02Z", "running"), row("a", "2026-01-05T09:00:01Z")];

  it("adds newer calls on top and updates known ones in place", () => {
    const polled = [row("d", "2026-01-05T09:00:04Z"), row("b", "2026-01-05T09:00:02Z", "ok")];
    const merged = mergeNewer(shown, polled, false);
    expect(merged.rows.map((r) => r.id)).toEqual(["d", "c", "b", "a"]);
    expect(merged.rows[2]?.status).toBe("ok");
    expect(merged.added).toBe(1);
    expect(merged.gap).toBe(false);
  });

  it("slots a late-recorded call into its place by start time", () => {
    const merged = mergeNewer(shown, [row("x", "2026-01-05T09:00:02.5Z")], false);
    expect(merged.rows.map((r) => r.id)).toEqual(["c", "x", "b", "a"]);
  });

  it("says so when a full poll holds only newer calls (more than one page arrived)", () => {
    const merged = mergeNewer(shown, [row("e", "2026-01-05T09:00:06Z"), row("d", "2026-01-05T09:00:05Z")], true);
    expect(merged.gap).toBe(true);
  });

  it("returns the same array when nothing changed", () => {
    expect(mergeNewer(shown, [shown[0] as Row], false).rows).toBe(shown);
  });
});
