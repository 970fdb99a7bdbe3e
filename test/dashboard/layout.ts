import type { Page } from "playwright-core";

export interface LayoutReport {
  /** What is wrong, in words; empty when the page fits. */
  problems: string[];
  /** Cells cut with an ellipsis (each must carry its full text as a tooltip). */
  cutCells: number;
  /** Cost / Share header cells checked. */
  costColumns: number;
  /** window.innerWidth: a phone browser widens it to fit a page that overflows, so tests pin it. */
  width: number;
}

/**
 * Measures the rendered page in the browser: no sideways scroll of the page or of any panel,
 * every Cost and Share column inside its panel and the viewport, every cell cut with an
 * ellipsis titled with its full text.
 */
export async function checkLayout(page: Page): Promise<LayoutReport> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const root = document.scrollingElement ?? document.documentElement;
    if (root.scrollWidth > window.innerWidth) problems.push(`page is ${root.scrollWidth} px wide in a ${window.innerWidth} px window`);
    const name = (el: Element) => el.getAttribute("data-test") ?? el.querySelector("h2")?.textContent ?? el.tagName;
    for (const section of Array.from(document.querySelectorAll("section"))) {
      if (section.scrollWidth > section.clientWidth + 1) problems.push(`panel "${name(section)}" scrolls sideways (${section.scrollWidth} > ${section.clientWidth})`);
    }
    let costColumns = 0;
    for (const th of Array.from(document.querySelectorAll('th[data-col="cost"], th[data-col="share"]'))) {
      costColumns++;
      const section = th.closest("section");
      const r = th.getBoundingClientRect();
      const box = section?.getBoundingClientRect();
      const label = `${th.textContent} in "${section ? name(section) : "?"}"`;
      if (r.width === 0 || getComputedStyle(th).display === "none") problems.push(`${label} is hidden`);
      else if (r.left < 0 || r.right > window.innerWidth) problems.push(`${label} is outside the window (${Math.round(r.left)}–${Math.round(r.right)})`);
      else if (box && (r.left < box.left || r.right > box.right)) problems.push(`${label} is cut by its panel`);
    }
    let cutCells = 0;
    for (const cell of Array.from(document.querySelectorAll("td, th"))) {
      const style = getComputedStyle(cell);
      if (style.display === "none" || style.textOverflow !== "ellipsis" || cell.scrollWidth <= cell.clientWidth) continue;
      cutCells++;
      const full = cell.textContent?.trim() ?? "";
      if (cell.getAttribute("title") !== full) problems.push(`cut cell "${full}" has no tooltip with its full text`);
    }
    return { problems, cutCells, costColumns, width: window.innerWidth };
  });
}
