import { fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import type { CallRecord } from "../api/types";
import { inputMessages, outputMessages } from "../lib/chat";
import { CallDetail } from "./CallDetail";
import { ChatMessages } from "./ChatMessages";
import { JsonBlock } from "./JsonBlock";
import { TruncatedText } from "./Truncated";

const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">';

function call(over: Partial<CallRecord>): CallRecord {
  return {
    id: "0123456789abcdef",
    project: "default",
    trace_id: "0123456789abcdef0123456789abcdef",
    parent_id: null,
    kind: "llm",
    op_name: "openai.chat.completions.create",
    display_name: null,
    started_at: "2026-01-05T09:00:00+00:00",
    ended_at: "2026-01-05T09:00:01+00:00",
    latency_ms: 1000,
    ttft_ms: 120,
    overhead_ms: 0.4,
    status: "ok",
    http_status: 200,
    model: "gpt-4o",
    response_model: "gpt-4o-2024-08-06",
    inputs: null,
    output: null,
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cached_tokens: 0, reasoning_tokens: null },
    usage_source: "upstream",
    cost_usd: 0.0001,
    error: null,
    session_id: null,
    user_id: null,
    key_fingerprint: null,
    attributes: {},
    op_version: null,
    model_version: null,
    prompt_digest: null,
    ...over,
  };
}

describe("ChatMessages", () => {
  it("renders every role, image parts as <img src> and tool calls with arguments", () => {
    const messages = inputMessages({
      model: "gpt-4o",
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in this photo?" },
            { type: "image_url", image_url: { url: "https://example.com/a.png" } },
            { type: "image_url", image_url: { url: "javascript:alert(1)" } },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
        },
        { role: "tool", tool_call_id: "call_1", content: "18C" },
      ],
    });
    expect(messages).not.toBeNull();
    const { container } = render(<ChatMessages messages={messages ?? []} />);
    const roles = [...container.querySelectorAll("[data-testid=message]")].map((m) => m.getAttribute("data-role"));
    expect(roles).toEqual(["system", "user", "assistant", "tool"]);
    const imgs = [...container.querySelectorAll("img")].map((i) => i.getAttribute("src"));
    expect(imgs).toEqual(["https://example.com/a.png", "data:image/png;base64,AAAA"]);
    expect(screen.getByTestId("image-blocked").textContent).toContain("javascript:alert(1)");
    expect(screen.getByTestId("tool-call-name").textContent).toBe("get_weather");
    expect(screen.getByTestId("tool-call").textContent).toContain('"city": "Paris"');
    expect(container.textContent).toContain("answers call_1");
  });

  it("renders the reassembled answer with its finish reason and refusals", () => {
    const messages = outputMessages({
      object: "chat.completion",
      choices: [
        { index: 0, message: { role: "assistant", content: "Hi!" }, finish_reason: "stop" },
        { index: 1, message: { role: "assistant", content: null, refusal: "I can't." }, finish_reason: "stop" },
      ],
    });
    render(<ChatMessages messages={messages ?? []} />);
    expect(screen.getByText("Hi!")).toBeTruthy();
    expect(screen.getByText("I can't.")).toBeTruthy();
    expect(screen.getAllByText(/finish: stop/)).toHaveLength(2);
  });

  it("shows hostile strings as literal text and creates no element from them", () => {
    const { container } = render(
      <ChatMessages messages={inputMessages({ model: "m", messages: [{ role: "user", content: HOSTILE }] }) ?? []} />,
    );
    expect(container.textContent).toContain(HOSTILE);
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("img")).toBeNull();
  });

  it("shows the first and last messages of a very long conversation", () => {
    const many = Array.from({ length: 500 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i}` }));
    const { container } = render(<ChatMessages messages={inputMessages({ model: "m", messages: many }) ?? []} />);
    expect(container.querySelectorAll("[data-testid=message]")).toHaveLength(50);
    expect(container.textContent).toContain("message 0");
    expect(container.textContent).toContain("message 499");
    fireEvent.click(screen.getByText(/show 450 more messages/));
    expect(container.querySelectorAll("[data-testid=message]")).toHaveLength(500);
  });
});

describe("truncation", () => {
  it("puts only the first characters of a huge text in the DOM until asked", () => {
    const huge = "x".repeat(5_000_000);
    const { container } = render(<TruncatedText text={huge} />);
    expect(container.textContent?.length).toBeLessThan(3_000);
    expect(container.textContent).toContain("4,998,000 more characters");
    fireEvent.click(screen.getByText("show more"));
    expect(container.textContent?.length).toBeGreaterThan(20_000);
    expect(container.textContent?.length).toBeLessThan(30_000);
  });

  it("bounds the JSON view of a huge value", () => {
    const { container } = render(<JsonBlock value={{ prompt: "y".repeat(5_000_000), list: Array.from({ length: 100_000 }, (_, i) => i) }} />);
    const pre = container.querySelector("pre");
    expect(pre?.textContent?.length).toBeLessThan(25_000);
    expect(container.textContent).toContain("show more");
  });
});

describe("CallDetail", () => {
  it("renders metrics, error, conversation, parameters and feedback without markup from the record", () => {
    const record = call({
      status: "error",
      http_status: 500,
      error: { message: HOSTILE, type: "server_error", code: null },
      inputs: { model: "gpt-4o", temperature: 0.2, messages: [{ role: "user", content: "hello" }] },
      output: { object: "chat.completion", choices: [{ message: { role: "assistant", content: "world" }, finish_reason: "stop" }] },
      session_id: "sess-1",
      attributes: { properties: { env: HOSTILE } },
      usage_source: "estimated",
    });
    const { container } = render(
      <MemoryRouter>
        <CallDetail call={record} feedback={[{ id: "f1", call_id: record.id, thumbs: "up", name: null, score: null, note: HOSTILE, author: null, created_at: "2026-01-05T09:00:00+00:00" }]} />
      </MemoryRouter>,
    );
    expect(screen.getByTestId("metric-latency").textContent).toContain("1.00 s");
    expect(screen.getByTestId("metric-ttft").textContent).toContain("120 ms");
    expect(screen.getByTestId("metric-total-tokens").textContent).toContain("15");
    expect(screen.getByTestId("metric-usage-source").textContent).toContain("estimated");
    expect(screen.getByTestId("call-error").textContent).toContain(HOSTILE);
    expect(screen.getByTestId("input-messages").textContent).toContain("hello");
    expect(screen.getByTestId("output-messages").textContent).toContain("world");
    expect(screen.getByTestId("call-params").textContent).toContain('"temperature": 0.2');
    expect(screen.getByTestId("feedback-list").textContent).toContain(HOSTILE);
    expect(screen.getByTestId("call-tags").textContent).toContain(HOSTILE);
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("img")).toBeNull();
  });

  it("shows an op's plain inputs and string output", () => {
    render(
      <MemoryRouter>
        <CallDetail call={call({ kind: "op", op_name: "pipeline.run", inputs: { question: "why?" }, output: "because", model: null })} />
      </MemoryRouter>,
    );
    expect(screen.getByTestId("call-input").textContent).toContain('"question": "why?"');
    expect(screen.getByTestId("call-output").textContent).toContain("because");
    expect(screen.queryByTestId("call-feedback")).toBeNull();
  });
});

describe("source", () => {
  it("never renders HTML from a string", async () => {
    const { readdirSync, readFileSync, statSync } = await import("node:fs");
    const { join } = await import("node:path");
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? walk(path) : [path];
      });
    const sources = walk(join(__dirname, "..")).filter((p) => /\.tsx?$/.test(p) && !/\.test\.tsx?$/.test(p));
    expect(sources.length).toBeGreaterThan(10);
    const banned = ["dangerously" + "SetInnerHTML", ".inner" + "HTML", "insertAdjacent" + "HTML", "document." + "write"];
    for (const path of sources) {
      const text = readFileSync(path, "utf8");
      for (const word of banned) expect(text.includes(word), `${path} uses ${word}`).toBe(false);
    }
  });
});
