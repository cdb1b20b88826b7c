import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { DiffText } from "./DiffText";
import { UnifiedDiffView } from "./UnifiedDiffView";

describe("UnifiedDiffView", () => {
  it("shows removed and added lines with their numbers", () => {
    render(<UnifiedDiffView before={"a\nb\nc\n"} after={"a\nB\nc\nd\n"} beforeLabel="v1" afterLabel="v2" />);
    const removed = screen.getAllByTestId("diff-removed");
    const added = screen.getAllByTestId("diff-added");
    expect(removed.map((r) => r.textContent)).toEqual(["2-b"]);
    expect(added.map((r) => r.textContent)).toEqual(["2+B", "4+d"]);
    expect(screen.getByTestId("version-diff-stats").textContent).toBe("+2 -1");
    expect(screen.getByText("--- v1")).toBeTruthy();
  });
  it("says when there is no difference", () => {
    render(<UnifiedDiffView before="same" after="same" beforeLabel="v1" afterLabel="v2" />);
    expect(screen.getByTestId("version-diff-same")).toBeTruthy();
    expect(screen.queryByTestId("diff-added")).toBeNull();
  });
  it("renders only a budget of lines until asked for more", () => {
    const many = Array.from({ length: 1600 }, (_, i) => `line ${i}`).join("\n");
    render(<UnifiedDiffView before="" after={many} beforeLabel="v1" afterLabel="v2" />);
    expect(screen.getAllByTestId("diff-added")).toHaveLength(1500);
    fireEvent.click(screen.getByText("show more"));
    expect(screen.getAllByTestId("diff-added")).toHaveLength(1600);
  });
});

describe("DiffText", () => {
  it("marks words removed and added, as text", () => {
    const { container } = render(<DiffText before="say <b>hi</b> now" after="say <i>bye</i> now" />);
    expect(screen.getAllByTestId("diff-removed").map((e) => e.textContent)).toEqual(["b", "hi", "b"]);
    expect(screen.getAllByTestId("diff-added").map((e) => e.textContent)).toEqual(["i", "bye", "i"]);
    expect(container.textContent).toBe("say <bi>hibye</bi> now");
    expect(container.querySelectorAll("ins, del")).toHaveLength(6);
    expect(document.querySelector("b, i")).toBeNull();
  });
  it("clips long diffs with show more", () => {
    const a = "x ".repeat(3000);
    render(<DiffText before={a} after={`${a}tail`} limit={1000} />);
    expect(screen.getByText(/more characters/)).toBeTruthy();
    expect(screen.queryByTestId("diff-added")).toBeNull();
    fireEvent.click(screen.getByText("show more"));
    expect(screen.getByTestId("diff-added").textContent).toBe("tail");
  });
});
