export interface LineItem {
  description: string;
  unitPriceCents: number;
  quantity: number;
}

export function subtotalCents(items: LineItem[]): number {
  let total = 0;
  for (let i = 0; i < items.length; i++) {
    total += items[i]!.unitPriceCents * items[i]!.quantity;
  }
  return total;
}
