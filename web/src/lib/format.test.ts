import { describe, expect, it } from "vitest";
import { fmtCost } from "./format";

describe("fmtCost", () => {
  it("never uses exponent notation and keeps two significant digits below a cent", () => {
    expect(fmtCost(1e-7)).toBe("$0.0000001");
    expect(fmtCost(0.000008)).toBe("$0.000008");
    expect(fmtCost(0.0000123)).toBe("$0.000012");
    expect(fmtCost(0.00123456)).toBe("$0.0012");
    expect(fmtCost(0.0099999)).toBe("$0.01");
    expect(fmtCost(3.5e-10)).toBe("<$0.00000001");
    for (let e = -8; e <= 3; e++) {
      for (const m of [1, 1.5, 9.99]) expect(fmtCost(m * 10 ** e)).not.toMatch(/e|E/);
    }
  });
  it("shows cents from a cent and whole dollars from $100", () => {
    expect(fmtCost(0.01)).toBe("$0.01");
    expect(fmtCost(1.234)).toBe("$1.23");
    expect(fmtCost(1234.5)).toBe("$1,235");
    expect(fmtCost(-0.000008)).toBe("-$0.000008");
    expect(fmtCost(0)).toBe("$0");
    expect(fmtCost(null)).toBe("—");
  });
});
