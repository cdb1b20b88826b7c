/** Two selects choosing the versions to diff (`from` → `to`), kept in the page URL. */
import type { Numbered } from "../../lib/analytics/versions";

export function VersionPicker<T extends Numbered>({
  versions,
  from,
  to,
  label,
  onChange,
}: {
  versions: readonly T[];
  from: T;
  to: T;
  label: (v: T) => string;
  onChange: (from: number, to: number) => void;
}) {
  return (
    <div className="an-picker" data-testid="version-picker">
      <label>
        from{" "}
        <select
          value={from.version}
          onChange={(e) => onChange(Number(e.target.value), to.version)}
          data-testid="diff-from"
        >
          {versions.map((v) => (
            <option key={v.version} value={v.version}>
              {label(v)}
            </option>
          ))}
        </select>
      </label>
      <span className="an-arrow">→</span>
      <label>
        to{" "}
        <select
          value={to.version}
          onChange={(e) => onChange(from.version, Number(e.target.value))}
          data-testid="diff-to"
        >
          {versions.map((v) => (
            <option key={v.version} value={v.version}>
              {label(v)}
            </option>
          ))}
        </select>
      </label>
      <button type="button" className="btn btn-small" onClick={() => onChange(to.version, from.version)} data-testid="diff-swap">
        swap
      </button>
    </div>
  );
}
