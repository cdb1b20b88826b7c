/**
 * A conversation (request messages or the reassembled answer) rendered as text: role,
 * content parts, images as thumbnails (only http(s) and data:image URLs, as `<img src>`),
 * tool calls with their arguments, tool results with the call they answer.
 */
import { useState } from "react";
import { prettyArgs, safeImageUrl, type Message, type Part, type ToolCall } from "../lib/chat";
import { clip } from "../lib/truncate";
import { JsonBlock } from "./JsonBlock";
import { TruncatedText } from "./Truncated";

const KNOWN_ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function", "reasoning", "prompt"]);

export function roleClass(role: string): string {
  return KNOWN_ROLES.has(role) ? `role-${role}` : "role-other";
}

function ImagePart({ url, detail }: { url: string; detail?: string }) {
  const safe = safeImageUrl(url);
  const [open, setOpen] = useState(false);
  const label = clip(url, 120);
  if (safe === null) {
    return (
      <div className="part-image blocked" data-testid="image-blocked">
        image not shown (only http(s) and data:image URLs are): <code>{label.text}{label.hidden ? "…" : ""}</code>
      </div>
    );
  }
  return (
    <figure className={`part-image ${open ? "open" : ""}`} data-testid="image-part">
      <button type="button" className="image-button" onClick={() => setOpen(!open)} title={open ? "shrink" : "enlarge"}>
        <img src={safe} alt="image input" loading="lazy" referrerPolicy="no-referrer" decoding="async" />
      </button>
      <figcaption className="muted">
        {safe.startsWith("data:") ? `inline image (${Math.round(safe.length / 1024)} KB)` : label.text + (label.hidden ? "…" : "")}
        {detail ? ` · detail: ${detail}` : ""}
      </figcaption>
    </figure>
  );
}

function PartView({ part }: { part: Part }) {
  switch (part.kind) {
    case "text":
      return <TruncatedText text={part.text} className="part-text" />;
    case "refusal":
      return (
        <div className="part-refusal">
          <span className="tag">refusal</span> <TruncatedText text={part.text} className="part-text" />
        </div>
      );
    case "image":
      return part.detail ? <ImagePart url={part.url} detail={part.detail} /> : <ImagePart url={part.url} />;
    case "other":
      return <JsonBlock value={part.value} title={part.label} budget={4_000} />;
  }
}

export function ToolCallView({ call }: { call: ToolCall }) {
  return (
    <div className="tool-call" data-testid="tool-call">
      <div className="tool-call-head">
        <span className="tag tag-tool">tool call</span>{" "}
        <strong className="tool-name" data-testid="tool-call-name">{call.name}</strong>
        {call.id && <span className="muted mono"> {call.id}</span>}
      </div>
      <TruncatedText text={prettyArgs(call.args)} className="tool-args mono" />
    </div>
  );
}

export function MessageView({ message, index }: { message: Message; index?: number }) {
  return (
    <div className={`message ${roleClass(message.role)}`} data-testid="message" data-role={message.role}>
      <div className="message-head">
        <span className="role">{message.role}</span>
        {message.name && <span className="muted"> · {message.name}</span>}
        {message.toolCallId && <span className="muted mono"> · answers {message.toolCallId}</span>}
        {message.label && <span className="muted"> · {message.label}</span>}
        {index !== undefined && <span className="message-index muted">#{index + 1}</span>}
      </div>
      <div className="message-body">
        {message.parts.length === 0 && message.toolCalls.length === 0 && <span className="muted">(empty)</span>}
        {message.parts.map((part, i) => (
          <PartView key={i} part={part} />
        ))}
        {message.toolCalls.map((call, i) => (
          <ToolCallView key={call.id ?? i} call={call} />
        ))}
      </div>
    </div>
  );
}

/** Long conversations show their first and last messages until expanded. */
export function ChatMessages({
  messages,
  testId = "messages",
  limit = 50,
}: {
  messages: Message[];
  testId?: string;
  limit?: number;
}) {
  const [all, setAll] = useState(false);
  const hidden = all || messages.length <= limit ? 0 : messages.length - limit;
  const head = hidden ? messages.slice(0, 5) : messages;
  const tail = hidden ? messages.slice(messages.length - (limit - 5)) : [];
  return (
    <div className="messages" data-testid={testId}>
      {head.map((m, i) => (
        <MessageView key={i} message={m} index={i} />
      ))}
      {hidden > 0 && (
        <button type="button" className="btn btn-link more-messages" onClick={() => setAll(true)}>
          show {hidden.toLocaleString("en-US")} more messages
        </button>
      )}
      {tail.map((m, i) => (
        <MessageView key={`t${i}`} message={m} index={messages.length - tail.length + i} />
      ))}
    </div>
  );
}
