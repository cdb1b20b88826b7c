/**
 * Recorded inputs and outputs -> a conversation to render. Handles Chat Completions
 * (`messages`, `choices[].message`), the Responses API (`instructions` + `input` items,
 * `output` items) and legacy completions (`prompt`, `choices[].text`). Anything else is
 * left to the JSON view. Everything here is data: rendering (as text) is the components'.
 */

export type Part =
  | { kind: "text"; text: string }
  | { kind: "refusal"; text: string }
  | { kind: "image"; url: string; detail?: string }
  | { kind: "other"; label: string; value: unknown };

export interface ToolCall {
  id?: string;
  name: string;
  /** The arguments as the model sent them (a JSON string, usually). */
  args: string;
}

export interface Message {
  role: string;
  name?: string;
  parts: Part[];
  toolCalls: ToolCall[];
  toolCallId?: string;
  /** For outputs: which choice, and why it finished. */
  label?: string;
}

type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function argsText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === undefined || v === null) return "";
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function imageUrl(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (isObj(v)) return str(v.url);
  return undefined;
}

/** One content part of any of the APIs. */
export function toPart(raw: unknown): Part {
  if (typeof raw === "string") return { kind: "text", text: raw };
  if (!isObj(raw)) return { kind: "other", label: "part", value: raw };
  const type = str(raw.type) ?? "";
  if (["text", "input_text", "output_text"].includes(type) && typeof raw.text === "string") {
    return { kind: "text", text: raw.text };
  }
  if (type === "refusal") return { kind: "refusal", text: argsText(raw.refusal) };
  if (type === "image_url" || type === "input_image") {
    const url = imageUrl(raw.image_url) ?? str(raw.url);
    const detail = isObj(raw.image_url) ? str(raw.image_url.detail) : str(raw.detail);
    if (url !== undefined) return detail ? { kind: "image", url, detail } : { kind: "image", url };
  }
  return { kind: "other", label: type || "part", value: raw };
}

function contentParts(content: unknown): Part[] {
  if (content === undefined || content === null) return [];
  if (typeof content === "string") return [{ kind: "text", text: content }];
  if (Array.isArray(content)) return content.map(toPart);
  return [toPart(content)];
}

function toolCalls(raw: unknown): ToolCall[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((call): ToolCall => {
    if (!isObj(call)) return { name: "?", args: argsText(call) };
    const fn = isObj(call.function) ? call.function : isObj(call.custom) ? call.custom : call;
    const out: ToolCall = {
      name: str(fn.name) ?? str(call.type) ?? "?",
      args: argsText(fn.arguments ?? fn.input),
    };
    const id = str(call.id);
    if (id !== undefined) out.id = id;
    return out;
  });
}

/** A Chat Completions message (request or response side). */
export function chatMessage(raw: unknown): Message {
  if (!isObj(raw)) return { role: "?", parts: [toPart(raw)], toolCalls: [] };
  const msg: Message = {
    role: str(raw.role) ?? "?",
    parts: contentParts(raw.content),
    toolCalls: toolCalls(raw.tool_calls),
  };
  if (typeof raw.refusal === "string" && raw.refusal) msg.parts.push({ kind: "refusal", text: raw.refusal });
  if (isObj(raw.function_call)) msg.toolCalls.push(...toolCalls([{ function: raw.function_call }]));
  const name = str(raw.name);
  if (name) msg.name = name;
  const callId = str(raw.tool_call_id);
  if (callId) msg.toolCallId = callId;
  return msg;
}

/** A Responses API input or output item. */
export function responsesItem(raw: unknown): Message {
  if (!isObj(raw)) return { role: "user", parts: contentParts(raw), toolCalls: [] };
  const type = str(raw.type) ?? "message";
  if (type === "function_call" || type === "custom_tool_call") {
    const call: ToolCall = { name: str(raw.name) ?? "?", args: argsText(raw.arguments ?? raw.input) };
    const id = str(raw.call_id) ?? str(raw.id);
    if (id) call.id = id;
    return { role: "assistant", parts: [], toolCalls: [call] };
  }
  if (type === "function_call_output" || type === "custom_tool_call_output") {
    const msg: Message = { role: "tool", parts: contentParts(argsText(raw.output)), toolCalls: [] };
    const id = str(raw.call_id);
    if (id) msg.toolCallId = id;
    return msg;
  }
  if (type === "reasoning") {
    const summary = Array.isArray(raw.summary) ? raw.summary : [];
    const parts = summary.map(toPart);
    return { role: "reasoning", parts: parts.length ? parts : [{ kind: "other", label: "reasoning", value: raw }], toolCalls: [] };
  }
  if (type === "message" || "role" in raw) {
    return { role: str(raw.role) ?? "assistant", parts: contentParts(raw.content), toolCalls: [] };
  }
  return { role: type, parts: [{ kind: "other", label: type, value: raw }], toolCalls: [] };
}

/** The conversation sent, or null when the inputs are not a chat-like request. */
export function inputMessages(inputs: unknown): Message[] | null {
  if (!isObj(inputs)) return null;
  if (Array.isArray(inputs.messages)) return inputs.messages.map(chatMessage);
  if ("input" in inputs && (typeof inputs.input === "string" || Array.isArray(inputs.input))) {
    if (!("model" in inputs) && !("instructions" in inputs)) return null; // an op's own `input` argument
    const out: Message[] = [];
    if (typeof inputs.instructions === "string") {
      out.push({ role: "system", parts: [{ kind: "text", text: inputs.instructions }], toolCalls: [] });
    }
    if (typeof inputs.input === "string") {
      out.push({ role: "user", parts: [{ kind: "text", text: inputs.input }], toolCalls: [] });
    } else if (Array.isArray(inputs.input)) {
      out.push(...inputs.input.map(responsesItem));
    }
    return out;
  }
  if ("prompt" in inputs && "model" in inputs) {
    const prompts = Array.isArray(inputs.prompt) ? inputs.prompt : [inputs.prompt];
    return prompts.map((p) => ({ role: "prompt", parts: contentParts(typeof p === "string" ? p : argsText(p)), toolCalls: [] }));
  }
  return null;
}

/** The reassembled answer as messages, or null when the output is not a model answer. */
export function outputMessages(output: unknown): Message[] | null {
  if (!isObj(output)) return null;
  if (Array.isArray(output.choices)) {
    const many = output.choices.length > 1;
    return output.choices.map((choice, i) => {
      const c = isObj(choice) ? choice : {};
      const msg = isObj(c.message)
        ? chatMessage(c.message)
        : { role: "assistant", parts: contentParts(c.text), toolCalls: [] };
      const finish = str(c.finish_reason);
      const label = [many ? `choice ${i}` : "", finish ? `finish: ${finish}` : ""].filter(Boolean).join(" · ");
      if (label) msg.label = label;
      return msg;
    });
  }
  if (Array.isArray(output.output) && (output.object === "response" || "status" in output)) {
    return output.output.map(responsesItem);
  }
  return null;
}

const CONVERSATION_KEYS = new Set(["messages", "input", "instructions", "prompt"]);

/** The request's parameters: everything but the conversation (model, temperature, tools...). */
export function parameters(inputs: unknown): Obj | null {
  if (!isObj(inputs) || inputMessages(inputs) === null) return null;
  return Object.fromEntries(Object.entries(inputs).filter(([k]) => !CONVERSATION_KEYS.has(k)));
}

/** Only `http(s):` and `data:image/` URLs are ever shown as images (as `<img src>`). */
export function safeImageUrl(url: string): string | null {
  const trimmed = url.trim();
  if (/^data:image\/[a-z0-9.+-]+[;,]/i.test(trimmed)) return trimmed;
  try {
    const parsed = new URL(trimmed);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** Pretty-printed tool arguments when they are JSON, else the text as sent. */
export function prettyArgs(args: string, limit = 200_000): string {
  if (args.length > limit) return args;
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}
