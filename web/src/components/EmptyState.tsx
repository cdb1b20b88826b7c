/** What a new user sees before any call is recorded: the one line that points an app here. */
import { CopyButton } from "./CopyButton";

export function proxyBaseUrl(): string {
  return `${window.location.origin}/v1`;
}

export function EmptyState() {
  const line = `export OPENAI_BASE_URL=${proxyBaseUrl()}`;
  return (
    <div className="empty" data-testid="empty-state">
      <h2>No calls recorded yet</h2>
      <p>Point any OpenAI client at wiretrace; every call it makes appears here within a second.</p>
      <div className="code-line">
        <code>{line}</code>
        <CopyButton text={line} />
      </div>
      <p className="muted">
        Python: <code>OpenAI(base_url="{proxyBaseUrl()}")</code> · Node: <code>new OpenAI({"{"} baseURL: "{proxyBaseUrl()}" {"}"})</code>.
        Tag calls with headers <code>Wiretrace-Session-Id</code>, <code>Wiretrace-User-Id</code>,{" "}
        <code>Wiretrace-Property-&lt;Key&gt;</code>; nest them in your own spans with the Python SDK (
        <code>@wiretrace.op</code>).
      </p>
    </div>
  );
}
