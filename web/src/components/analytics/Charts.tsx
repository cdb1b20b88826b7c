/** The dashboard's charts (recharts): stacked by model over time, percentiles, errors, ops. */
import type { ReactNode } from "react";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import type { ChartRow, OpBar, Series } from "../../lib/analytics/dashboard";
import { fmtCompact, fmtCost, fmtInt, fmtMs } from "../../lib/format";
import { fmtCostExact } from "../../lib/analytics/numbers";

export const PALETTE = ["#4f6bed", "#e8833a", "#2fa36b", "#c94f7c", "#8a63d2", "#2aa7b8"];
export const OTHER_COLOR = "#a3a9b3";
const HEIGHT = 240;
const AXIS = { fontSize: 11, fill: "#6b7280" };

export function ChartCard({
  title,
  testId,
  note,
  children,
}: {
  title: string;
  testId: string;
  note?: ReactNode;
  children: ReactNode;
}) {
  return (
    <section className="an-card an-chart" data-testid={testId}>
      <div className="an-card-head">
        <h3>{title}</h3>
        {note && <span className="muted an-chart-note">{note}</span>}
      </div>
      <div className="an-chart-body">{children}</div>
    </section>
  );
}

function colorOf(s: Series, i: number): string {
  return s.dataKey === "other" ? OTHER_COLOR : (PALETTE[i % PALETTE.length] as string);
}

export type ValueFormat = "int" | "usd";

const formatters: Record<ValueFormat, { tick: (n: number) => string; tip: (n: number) => string }> = {
  int: { tick: (n) => fmtCompact(n), tip: (n) => fmtInt(n) },
  usd: { tick: (n) => fmtCost(n), tip: (n) => fmtCostExact(n) },
};

function num(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}

export function StackedBars({ rows, series, format }: { rows: ChartRow[]; series: Series[]; format: ValueFormat }) {
  const f = formatters[format];
  return (
    <ResponsiveContainer width="100%" height={HEIGHT}>
      <BarChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e5e7eb" />
        <XAxis dataKey="label" tick={AXIS} minTickGap={24} />
        <YAxis tick={AXIS} tickFormatter={(v) => f.tick(num(v))} width={format === "usd" ? 76 : 56} />
        <Tooltip formatter={(v) => f.tip(num(v))} />
        <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
        {series.map((s, i) => (
          <Bar key={s.dataKey} dataKey={s.dataKey} name={s.name} stackId="a" fill={colorOf(s, i)} isAnimationActive={false} />
        ))}
      </BarChart>
    </ResponsiveContainer>
  );
}

/** Dots only where the series is sparse: a lone bucket would otherwise not show at all. */
function sparse(rows: ChartRow[], key: string): boolean {
  let points = 0;
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]?.[key] === null || rows[i]?.[key] === undefined) continue;
    points += 1;
    const prev = rows[i - 1]?.[key];
    const next = rows[i + 1]?.[key];
    if ((prev === null || prev === undefined) && (next === null || next === undefined)) return true;
  }
  return points < 3;
}

const msTick = (v: unknown) => (num(v) === 0 ? "0" : fmtMs(num(v)));

export function LatencyLines({ rows }: { rows: ChartRow[] }) {
  const dots = sparse(rows, "p50");
  const lines: [string, string][] = [
    ["p50", "#2fa36b"],
    ["p95", "#e8833a"],
    ["p99", "#c94f7c"],
  ];
  return (
    <ResponsiveContainer width="100%" height={HEIGHT}>
      <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e5e7eb" />
        <XAxis dataKey="label" tick={AXIS} minTickGap={24} />
        <YAxis tick={AXIS} tickFormatter={msTick} width={64} />
        <Tooltip formatter={(v) => fmtMs(num(v))} />
        <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
        {lines.map(([key, color]) => (
          <Line
            key={key}
            type="linear"
            dataKey={key}
            name={key}
            stroke={color}
            dot={dots ? { r: 3, fill: color, strokeWidth: 0 } : false}
            strokeWidth={2}
            isAnimationActive={false}
            connectNulls={false}
          />
        ))}
      </LineChart>
    </ResponsiveContainer>
  );
}

export function ErrorRateBars({ rows }: { rows: ChartRow[] }) {
  return (
    <ResponsiveContainer width="100%" height={HEIGHT}>
      <BarChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e5e7eb" />
        <XAxis dataKey="label" tick={AXIS} minTickGap={24} />
        <YAxis tick={AXIS} unit="%" width={48} domain={[0, (max: number) => Math.max(1, Math.ceil(max))]} />
        <Tooltip
          formatter={(v, _name, item) => {
            const row = (item as { payload?: ChartRow } | undefined)?.payload;
            const errors = row ? ` (${fmtInt(num(row.errors))} of ${fmtInt(num(row.calls))})` : "";
            return `${num(v).toFixed(2)}%${errors}`;
          }}
        />
        <Bar dataKey="error_rate" name="error rate" fill="#d14343" isAnimationActive={false} minPointSize={0} />
      </BarChart>
    </ResponsiveContainer>
  );
}

export function OpCostBars({ bars }: { bars: OpBar[] }) {
  const height = Math.max(120, bars.length * 30 + 40);
  return (
    <ResponsiveContainer width="100%" height={height}>
      <BarChart data={bars} layout="vertical" margin={{ top: 4, right: 24, bottom: 0, left: 8 }}>
        <CartesianGrid strokeDasharray="3 3" horizontal={false} stroke="#e5e7eb" />
        <XAxis type="number" tick={AXIS} tickFormatter={(v) => fmtCost(num(v))} />
        <YAxis type="category" dataKey="name" tick={AXIS} width={220} />
        <Tooltip formatter={(v) => fmtCostExact(num(v))} />
        <Bar dataKey="cost" name="cost" fill="#4f6bed" isAnimationActive={false} />
      </BarChart>
    </ResponsiveContainer>
  );
}
