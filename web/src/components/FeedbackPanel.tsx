/** A call's feedback (thumbs, scores, notes) and a form that adds one. */
import { useState } from "react";
import { api } from "../api/client";
import type { Feedback } from "../api/types";
import { fmtTime } from "../lib/format";
import { TruncatedText } from "./Truncated";

export function FeedbackList({ entries }: { entries: Feedback[] }) {
  if (entries.length === 0) return <p className="muted" data-testid="feedback-none">No feedback yet.</p>;
  const up = entries.filter((e) => e.thumbs === "up").length;
  const down = entries.filter((e) => e.thumbs === "down").length;
  return (
    <div>
      <p className="feedback-totals" data-testid="feedback-totals">
        <span className="thumb-up">👍 {up}</span> <span className="thumb-down">👎 {down}</span>
      </p>
      <ul className="feedback-list" data-testid="feedback-list">
        {entries.map((e) => (
          <li key={e.id} data-testid="feedback-entry">
            {e.thumbs === "up" && <span className="thumb-up">👍</span>}
            {e.thumbs === "down" && <span className="thumb-down">👎</span>}
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
        <button type="button" className="btn" disabled={busy} onClick={() => send("up")} data-testid="feedback-up" title="Good answer">
          👍 Good
        </button>
        <button type="button" className="btn" disabled={busy} onClick={() => send("down")} data-testid="feedback-down" title="Bad answer">
          👎 Bad
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
