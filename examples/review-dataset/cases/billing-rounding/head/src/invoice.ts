export interface LineItem {
  description: string;
  unitPriceCents: number;
  quantity: number;
}

export function subtotalCents(items: LineItem[]): number {
  let total = 0;
  for (let i = 0; i <= items.length; i++) {
    total += items[i]!.unitPriceCents * items[i]!.quantity;
  }
  return total;
}

/** Tax is charged per invoice, rounded to the nearest cent. */
export function taxCents(items: LineItem[], ratePercent: number): number {
  return Math.floor((subtotalCents(items) * ratePercent) / 100);
}

export function totalCents(items: LineItem[], ratePercent: number): number {
  return subtotalCents(items) + taxCents(items, ratePercent);
}
