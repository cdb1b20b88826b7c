/** Last 1h / 24h / 7d / 30d or a custom start and end, written to the page URL. */
import { useState } from "react";
import { RANGE_CHOICES, type RangeChoice, type TimeRange } from "../../lib/analytics/dashboard";
import { isoToLocalInput, localInputToIso } from "../../lib/format";

const LABELS: Record<RangeChoice, string> = {
  "1h": "1h",
  "24h": "24h",
  "7d": "7d",
  "30d": "30d",
  custom: "custom",
};

export function RangePicker({
  range,
  onChoose,
  onCustom,
  onRefresh,
}: {
  range: TimeRange;
  onChoose: (choice: Exclude<RangeChoice, "custom">) => void;
  onCustom: (since: string, until: string) => void;
  onRefresh: () => void;
}) {
  const [editing, setEditing] = useState(range.choice === "custom");
  const [since, setSince] = useState(isoToLocalInput(range.since));
  const [until, setUntil] = useState(isoToLocalInput(range.until));
  const sinceIso = localInputToIso(since);
  const untilIso = localInputToIso(until);
  const on = (c: RangeChoice) => (c === "custom" ? editing || range.choice === "custom" : range.choice === c && !editing);
  const valid = sinceIso !== "" && untilIso !== "" && sinceIso < untilIso;
  return (
    <div className="an-range" data-testid="range-picker">
      <div className="an-segmented" role="group" aria-label="time range">
        {RANGE_CHOICES.map((c) => (
          <button
            key={c}
            type="button"
            className={`an-seg ${on(c) ? "an-seg-on" : ""}`}
            aria-pressed={on(c)}
            data-testid={`range-${c}`}
            onClick={() => {
              if (c === "custom") {
                setSince(isoToLocalInput(range.since));
                setUntil(isoToLocalInput(range.until));
                setEditing(true);
              } else {
                setEditing(false);
                onChoose(c);
              }
            }}
          >
            {c === "custom" ? LABELS[c] : `last ${LABELS[c]}`}
          </button>
        ))}
      </div>
      {editing && (
        <form
          className="an-custom"
          onSubmit={(e) => {
            e.preventDefault();
            if (valid) onCustom(sinceIso, untilIso);
          }}
        >
          <input
            type="datetime-local"
            value={since}
            onChange={(e) => setSince(e.target.value)}
            aria-label="from"
            data-testid="range-since"
          />
          <span>→</span>
          <input
            type="datetime-local"
            value={until}
            onChange={(e) => setUntil(e.target.value)}
            aria-label="to"
            data-testid="range-until"
          />
          <button type="submit" className="btn btn-small" disabled={!valid} data-testid="range-apply">
            apply
          </button>
        </form>
      )}
      {range.choice !== "custom" && (
        <button type="button" className="btn btn-small" onClick={onRefresh} data-testid="range-refresh" title="move the range to now">
          refresh
        </button>
      )}
    </div>
  );
}
