/** A call's feedback (thumbs, scores, notes) and a form that adds one. */
import { useState } from "react";
import { api } from "../api/client";
import type { Feedback } from "../api/types";
import { fmtTime } from "../lib/format";
import { TruncatedText } from "./Truncated";

/** A thumb drawn inline (no emoji font needed), pointing up or down. Decorative: the text
 * beside it, or `label`, says what it means. */
export function Thumb({ dir, label }: { dir: "up" | "down"; label?: string }) {
  return (
    <svg
      className={`thumb-icon thumb-icon-${dir}`}
      viewBox="0 0 16 16"
      width="1em"
      height="1em"
      role={label ? "img" : undefined}
      aria-label={label}
      aria-hidden={label ? undefined : true}
      focusable="false"
      data-testid={`thumb-${dir}-icon`}
    >
      <path
        transform={dir === "down" ? "matrix(1 0 0 -1 0 16)" : undefined}
        fill="currentColor"
        d="M2 7h2.5v7H2zM6 14h5.6a1.5 1.5 0 0 0 1.46-1.16l1-4.3A1.5 1.5 0 0 0 12.6 6.7H9.5l.5-2.6A1.6 1.6 0 0 0 8.4 2.2L6 6.6z"
      />
    </svg>
  );
}

export function FeedbackList({ entries }: { entries: Feedback[] }) {
  if (entries.length === 0) return <p className="muted" data-testid="feedback-none">No feedback yet.</p>;
  const up = entries.filter((e) => e.thumbs === "up").length;
  const down = entries.filter((e) => e.thumbs === "down").length;
  return (
    <div>
      <p className="feedback-totals" data-testid="feedback-totals">
        <span className="thumb-up" data-testid="feedback-up-count" aria-label={`${up} thumbs up`}>
          <Thumb dir="up" /> {up}
        </span>{" "}
        <span className="thumb-down" data-testid="feedback-down-count" aria-label={`${down} thumbs down`}>
          <Thumb dir="down" /> {down}
        </span>
      </p>
      <ul className="feedback-list" data-testid="feedback-list">
        {entries.map((e) => (
          <li key={e.id} data-testid="feedback-entry">
            {e.thumbs === "up" && (
              <span className="thumb-up">
                <Thumb dir="up" label="thumbs up" />
              </span>
            )}
            {e.thumbs === "down" && (
              <span className="thumb-down">
                <Thumb dir="down" label="thumbs down" />
              </span>
            )}
            {e.name !== null && e.score !== null && (
              <span className="tag">
                {e.name}: {e.score}
              </span>
            )}
            {e.note && <TruncatedText text={e.note} className="feedback-note" limit={500} />}
            <span className="muted small">
              {e.author ? `${e.author} · ` : ""}
              {fmtTime(e.created_at)}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function FeedbackPanel({ callId, initial }: { callId: string; initial: Feedback[] }) {
  const [entries, setEntries] = useState<Feedback[]>(initial);
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function send(thumbs: "up" | "down") {
    setBusy(true);
    setError(null);
    try {
      const entry = await api.addFeedback(callId, {
        thumbs,
        note: note.trim() || null,
        name: null,
        score: null,
        author: null,
      });
      setEntries((list) => [...list, entry]);
      setNote("");
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="feedback" data-testid="feedback">
      <FeedbackList entries={entries} />
      <div className="feedback-form">
        <input
          type="text"
          placeholder="Optional note"
          value={note}
          maxLength={10_000}
          onChange={(e) => setNote(e.target.value)}
          data-testid="feedback-note"
        />
        <button
          type="button"
          className="btn btn-thumb"
          disabled={busy}
          onClick={() => send("up")}
          data-testid="feedback-up"
          aria-label="Good answer (thumbs up)"
          title="Good answer"
        >
          <Thumb dir="up" /> Good
        </button>
        <button
          type="button"
          className="btn btn-thumb"
          disabled={busy}
          onClick={() => send("down")}
          data-testid="feedback-down"
          aria-label="Bad answer (thumbs down)"
          title="Bad answer"
        >
          <Thumb dir="down" /> Bad
        </button>
      </div>
      {error && (
        <div className="error-box" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
