/** One call: `GET /api/calls/{id}` (with its feedback) in the call detail view. */
import { Link, useParams } from "react-router";
import { api } from "../api/client";
import { CallDetail, callName } from "../components/CallDetail";
import { ErrorBox, Loading } from "../components/Status";
import { useApi } from "../lib/useApi";
import { useTitle } from "../lib/useTitle";

export function CallPage() {
  const { callId = "" } = useParams();
  const { data, error, loading } = useApi((signal) => api.call(callId, signal), [callId]);
  useTitle(data ? callName(data) : "Call");
  return (
    <div className="page call-page" data-testid="call-page">
      <div className="crumbs">
        <Link to="/">← Traces</Link>
        {data && (
          <>
            {" · "}
            <Link to={`/traces/${data.trace_id}?node=${data.id}`} data-testid="view-trace">
              View in trace
            </Link>
          </>
        )}
      </div>
      {error ? <ErrorBox error={error} /> : loading || !data ? <Loading what="Loading call" /> : <CallDetail call={data} feedback={data.feedback} />}
    </div>
  );
}
