/**
 * "Make a dataset" from the traces table: the calls matching the table's filters (the newest
 * `limit` of them) become a dataset whose rows hold each call's exact request body and its
 * recorded output as the reference (`POST /api/datasets/from-calls`), ready to replay or
 * evaluate. Opens the new dataset when it is made.
 */
import { useState } from "react";
import { useNavigate } from "react-router";
import { api } from "../../api/client";

const DEFAULT_LIMIT = 1000;

export function MakeDataset({ filters }: { filters: URLSearchParams }) {
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [limit, setLimit] = useState(DEFAULT_LIMIT);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  if (!open) {
    return (
      <button type="button" className="btn btn-small" data-testid="make-dataset" onClick={() => setOpen(true)} title="a dataset of the calls these filters match">
        Make a dataset
      </button>
    );
  }
  const submit = async () => {
    if (!name.trim()) {
      setError("name the dataset");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const made = await api.datasetFromCalls(name.trim(), filters, limit);
      navigate(`/datasets/${encodeURIComponent(made.name)}?version=${encodeURIComponent(made.version)}`);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };
  return (
    <form
      className="make-dataset"
      data-testid="make-dataset-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <input
        autoFocus
        className="make-dataset-name"
        placeholder="dataset name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        data-testid="dataset-name"
      />
      <label className="muted small">
        newest{" "}
        <input
          type="number"
          min={1}
          max={100000}
          value={limit}
          onChange={(e) => setLimit(Math.max(1, Number(e.target.value) || DEFAULT_LIMIT))}
          style={{ width: 80 }}
          data-testid="dataset-limit"
        />{" "}
        matching calls
      </label>
      <button type="submit" className="btn btn-small btn-primary" disabled={busy} data-testid="dataset-create">
        {busy ? "making…" : "Make"}
      </button>
      <button type="button" className="btn btn-link" onClick={() => setOpen(false)}>
        cancel
      </button>
      {error && (
        <span className="make-dataset-error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
