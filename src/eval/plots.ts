/**
 * Plots of the reports: Vega-Lite specifications rendered headless to SVG with vega + vega-lite (no
 * browser, no canvas), inlined into the self-contained HTML pages of `muid eval` and `muid demo`.
 */

/** Renders a Vega-Lite spec to an SVG string. */
export async function svgOf(spec: Record<string, unknown>): Promise<string> {
  const vega = await import("vega");
  const vegaLite = await import("vega-lite");
  const view = new vega.View(vega.parse(vegaLite.compile(spec as never).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
