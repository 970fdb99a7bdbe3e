/** Budget overrides (raise, cap) and resets: the service the CLI and the admin API call, and the book the budget check reads (docs/governance.md#overrides). */
export { BudgetOverrideBook, OVERRIDE_POLL_MS, epochKey, type EffectiveBudget, type OverrideTimers } from "./book.ts";
export { BudgetOverrideService, OverrideInputError, MAX_OVERRIDE_MS } from "./service.ts";
export { budgetScopeSchema, budgetPeriodSchema, raiseInputSchema, capInputSchema, resetInputSchema } from "./types.ts";
export type { BudgetOverride, BudgetReset, BudgetPeriod, OverrideKind, RaiseInput, CapInput, ResetInput } from "./types.ts";
export type { ListFilter } from "./store.ts";
export { overridesDb, type OverrideTables } from "./tables.ts";
