/**
 * The app shell: a nav bar and the routes. The traces table, trace view and call detail are
 * in the main bundle; the analytics pages (compare, ops, models, dashboard, which use
 * recharts) and the evaluation pages are lazy chunks so the first load of `/` stays small.
 */
import { lazy, Suspense, type ReactNode } from "react";
import { NavLink, Route, Routes } from "react-router";
import { Loading } from "./components/Status";
import { CallPage } from "./pages/CallPage";
import { TracePage } from "./pages/TracePage";
import { TracesPage } from "./pages/TracesPage";

const ComparePage = lazy(() => import("./pages/ComparePage"));
const OpsPage = lazy(() => import("./pages/OpsPage"));
const ModelsPage = lazy(() => import("./pages/ModelsPage"));
const DashboardPage = lazy(() => import("./pages/DashboardPage"));
const EvaluationsPage = lazy(() => import("./pages/EvaluationsPage"));
const EvaluationRunPage = lazy(() => import("./pages/EvaluationRunPage"));
const EvaluationComparePage = lazy(() => import("./pages/EvaluationComparePage"));
const DatasetsPage = lazy(() => import("./pages/DatasetsPage"));

function Lazy({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Loading />}>{children}</Suspense>;
}

const NAV: [string, string][] = [
  ["/", "Traces"],
  ["/dashboard", "Dashboard"],
  ["/ops", "Ops"],
  ["/models", "Models"],
  ["/compare", "Compare"],
  ["/evaluations", "Evaluations"],
  ["/datasets", "Datasets"],
];

/** The server marks its page when it asks for sign-in (`wiretrace serve --auth-token`). */
function signInRequired(): boolean {
  return document.querySelector('meta[name="wiretrace-sign-in"]') !== null;
}

export function NavBar() {
  return (
    <header className="nav" data-testid="nav">
      <NavLink to="/" className="brand" end>
        wiretrace
      </NavLink>
      <nav>
        {NAV.map(([to, label]) => (
          <NavLink key={to} to={to} end={to === "/"} data-testid={`nav-${label.toLowerCase()}`}>
            {label}
          </NavLink>
        ))}
      </nav>
      <span className="nav-spacer" />
      <a className="nav-api" href="/api/openapi.json" target="_blank" rel="noreferrer">
        API
      </a>
      {signInRequired() && (
        <form className="nav-signout" method="post" action="/signout">
          <button type="submit" data-testid="sign-out">
            Sign out
          </button>
        </form>
      )}
    </header>
  );
}

function NotFound() {
  return (
    <div className="page" data-testid="not-found">
      <h1>Not found</h1>
      <p>
        Nothing lives at this address. <NavLink to="/">Back to the traces</NavLink>.
      </p>
    </div>
  );
}

export function App() {
  return (
    <div className="app">
      <NavBar />
      <main className="main">
        <Routes>
          <Route path="/" element={<TracesPage />} />
          <Route path="/traces/:traceId" element={<TracePage />} />
          <Route path="/calls/:callId" element={<CallPage />} />
          <Route path="/compare" element={<Lazy><ComparePage /></Lazy>} />
          <Route path="/ops" element={<Lazy><OpsPage /></Lazy>} />
          <Route path="/ops/:name" element={<Lazy><OpsPage /></Lazy>} />
          <Route path="/models" element={<Lazy><ModelsPage /></Lazy>} />
          <Route path="/models/:name" element={<Lazy><ModelsPage /></Lazy>} />
          <Route path="/dashboard" element={<Lazy><DashboardPage /></Lazy>} />
          <Route path="/evaluations" element={<Lazy><EvaluationsPage /></Lazy>} />
          <Route path="/evaluations/compare" element={<Lazy><EvaluationComparePage /></Lazy>} />
          <Route path="/evaluations/:runId" element={<Lazy><EvaluationRunPage /></Lazy>} />
          <Route path="/datasets" element={<Lazy><DatasetsPage /></Lazy>} />
          <Route path="/datasets/:name" element={<Lazy><DatasetsPage /></Lazy>} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </div>
  );
}
