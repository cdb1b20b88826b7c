import { fireEvent, render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import type { CallDetail } from "../../api/types";
import type { CompareField } from "../../api/types";
import { flatten, sameValue } from "../../lib/json";
import { CompareTable, fieldLabel } from "./CompareTable";

const HOSTILE = '<script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=1">';

function call(id: string, prompt: string, answer: string, latency: number, cost: number): CallDetail {
  return {
    id,
    project: "default",
    trace_id: "0".repeat(32),
    parent_id: null,
    kind: "llm",
    op_name: "openai.chat.completions.create",
    display_name: id === "a" ? "summarize_v1" : "summarize_v2",
    started_at: "2026-01-05T09:00:00Z",
    ended_at: null,
    latency_ms: latency,
    ttft_ms: null,
    overhead_ms: null,
    status: "ok",
    http_status: 200,
    model: "gpt-4o-mini",
    response_model: "gpt-4o-mini",
    inputs: { model: "gpt-4o-mini", temperature: 0, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: prompt }] },
    output: { choices: [{ index: 0, message: { role: "assistant", content: answer } }] },
    usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14, cached_tokens: null, reasoning_tokens: null },
    usage_source: "upstream",
    cost_usd: cost,
    error: null,
    session_id: null,
    user_id: null,
    key_fingerprint: null,
    attributes: {},
    op_version: null,
    model_version: null,
    prompt_digest: null,
  } as CallDetail;
}

/** The fields `GET /api/compare` answers for these calls (as the server splits them):
 * a few metrics, then each leaf of the request's parameters, messages and output. */
function serverFields(calls: CallDetail[]): CompareField[] {
  const row = (section: CompareField["section"], path: string, values: unknown[]): CompareField => ({
    section,
    path,
    values,
    same: values.every((v) => sameValue(v, values[0])),
  });
  const metric = (path: string, get: (c: CallDetail) => unknown) => row("metrics", path, calls.map(get));
  const leaves = (section: CompareField["section"], pick: (c: CallDetail) => unknown, prefix: string) => {
    const perCall = calls.map((c) => new Map(flatten(pick(c), prefix)));
    const paths = [...new Set(perCall.flatMap((m) => [...m.keys()]))];
    return paths.map((p) => row(section, p, perCall.map((m) => (m.has(p) ? m.get(p) : null))));
  };
  const inputs = (c: CallDetail) => c.inputs as Record<string, unknown>;
  return [
    metric("status", (c) => c.status),
    metric("latency_ms", (c) => c.latency_ms),
    metric("ttft_ms", (c) => c.ttft_ms),
    metric("usage.total_tokens", (c) => c.usage?.total_tokens ?? null),
    metric("cost_usd", (c) => c.cost_usd),
    ...leaves("parameters", (c) => ({ model: inputs(c).model, temperature: inputs(c).temperature }), "inputs"),
    ...leaves("inputs", (c) => ({ messages: inputs(c).messages }), "inputs"),
    ...leaves("output", (c) => c.output, "output"),
  ];
}

function renderTable(calls: CallDetail[]) {
  return render(
    <MemoryRouter>
      <CompareTable calls={calls} fields={serverFields(calls)} />
    </MemoryRouter>,
  );
}

const row = (path: string) => {
  const el = document.querySelector(`[data-testid="compare-field"][data-path="${path}"]`);
  if (!(el instanceof HTMLElement)) throw new Error(`no row ${path}`);
  return el;
};

describe("CompareTable", () => {
  it("shows one column per call, diffs differing text and marks identical fields", () => {
    renderTable([
      call("a", "Summarize the report.", "The report is long and boring.", 100, 0.001),
      call("b", "Summarize the report.", "The report is short.", 150, 0.002),
    ]);
    expect(screen.getAllByTestId("compare-column").map((c) => c.dataset.callId)).toEqual(["a", "b"]);

    const answer = row("output.choices[0].message.content");
    expect(answer.dataset.same).toBe("false");
    const cells = within(answer).getAllByTestId("compare-cell");
    expect(cells[0]?.textContent).toBe("The report is long and boring.");
    expect(within(cells[1]!).getAllByTestId("diff-removed").map((e) => e.textContent).join("")).toContain("long and boring");
    expect(within(cells[1]!).getAllByTestId("diff-added").map((e) => e.textContent).join("")).toContain("short");

    const latency = row("latency_ms");
    expect(within(latency).getByTestId("metric-delta").textContent).toBe("+50 ms (+50%)");
    expect(within(row("cost_usd")).getByTestId("metric-delta").textContent).toBe("+$0.001 (+100%)");
    expect(row("usage.total_tokens").dataset.same).toBe("true");
    expect(within(row("usage.total_tokens")).getByTestId("metric-delta").textContent).toBe("±0");

    // identical conversation fields are folded away until asked for
    expect(document.querySelector('[data-path="inputs.messages[1].content"]')).toBeNull();
    const inputs = screen.getByTestId("compare-section-inputs");
    fireEvent.click(within(inputs).getByTestId("identical-toggle"));
    const same = row("inputs.messages[1].content");
    expect(same.dataset.same).toBe("true");
    expect(within(same).getByTestId("field-same")).toBeTruthy();
    expect(within(same).getAllByTestId("compare-cell")).toHaveLength(1); // one cell spanning the calls
  });

  it("shows a missing field as missing and a value equal to the baseline as same", () => {
    const a = call("a", "x", "same answer", 100, 0.001);
    const b = call("b", "y", "same answer", 100, 0.001);
    const c = call("c", "x", "same answer", 100, 0.001);
    (c.inputs as Record<string, unknown>).temperature = undefined;
    delete (c.inputs as Record<string, unknown>).temperature;
    renderTable([a, b, c]);
    const prompt = within(row("inputs.messages[1].content")).getAllByTestId("compare-cell");
    expect(prompt).toHaveLength(3);
    expect(prompt[2]?.textContent).toContain("same as baseline");
    const temp = within(row("inputs.temperature")).getAllByTestId("compare-cell");
    expect(temp[2]?.textContent).toContain("missing");
  });

  it("shows a changed number whole, not as a character diff", () => {
    const a = call("a", "x", "y", 1, 0);
    const b = call("b", "x", "y", 1, 0);
    (b.inputs as Record<string, unknown>).temperature = 0.7;
    renderTable([a, b]);
    const cells = within(row("inputs.temperature")).getAllByTestId("compare-cell");
    expect(within(cells[1]!).getByTestId("value-changed").textContent).toBe("0.7");
    expect(within(cells[1]!).queryByTestId("diff-removed")).toBeNull();
    // a metric without a value is a dash, not "missing"; identical null metrics fold away
    expect(document.querySelector('[data-path="ttft_ms"]')).toBeNull();
    expect(within(row("latency_ms")).getAllByTestId("compare-cell")[0]?.textContent).toBe("1 ms");
  });

  it("renders hostile strings as text", () => {
    renderTable([call("a", "hello", "plain", 1, 0), call("b", "hello", HOSTILE, 1, 0)]);
    const cell = within(row("output.choices[0].message.content")).getAllByTestId("compare-cell")[1]!;
    expect(cell.textContent).toContain("<script>window.__pwned=1</script>");
    expect(cell.querySelector("script")).toBeNull();
    expect(cell.querySelector("img")).toBeNull();
    expect(document.querySelector("script, img")).toBeNull();
  });

  it("labels fields without their section prefix", () => {
    expect(fieldLabel({ section: "inputs", path: "inputs.messages[0].content", values: [], same: true })).toBe("messages[0].content");
    expect(fieldLabel({ section: "output", path: "output", values: [], same: true })).toBe("output");
    expect(fieldLabel({ section: "output", path: "output[0]", values: [], same: true })).toBe("[0]");
    expect(fieldLabel({ section: "metrics", path: "ttft_ms", values: [], same: true })).toBe("time to first token");
  });
});
