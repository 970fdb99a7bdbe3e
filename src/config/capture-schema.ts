import { z } from "zod";
import { PROVIDER_IDS } from "../providers/ids.ts";

/**
 * `bodyCapture`: whether the gateway keeps request and response bodies for the dashboard's
 * request log (docs/dashboard.md#body-capture). Off unless the organisation turns it on,
 * globally (`enabled`) or per provider route (`routes.<id>.enabled`). What is kept is
 * redacted for keys and secrets and cut at `maxBodyBytes` per body; rows older than
 * `retentionHours` are deleted. Zero data retention models are never captured.
 */
export const DEFAULT_CAPTURE_MAX_BODY_BYTES = 32 * 1024;
export const MAX_CAPTURE_BODY_BYTES = 1024 * 1024;
export const DEFAULT_CAPTURE_RETENTION_HOURS = 72;

const maxBodyBytes = z.number().int().min(256, "maxBodyBytes is at least 256").max(MAX_CAPTURE_BODY_BYTES, `maxBodyBytes is at most ${MAX_CAPTURE_BODY_BYTES} (1 MiB); larger bodies are cut there and flagged truncated`);

export const captureRouteSchema = z
  .object({
    enabled: z.boolean().optional().describe("Capture this route's bodies; unset = the global `enabled`."),
    maxBodyBytes: maxBodyBytes.optional().describe("Bytes kept per body on this route; unset = the global `maxBodyBytes`."),
  })
  .strict();

export const bodyCaptureSchema = z
  .object({
    enabled: z.boolean().default(false).describe("Capture request and response bodies on every route (each route may override). Off by default."),
    maxBodyBytes: maxBodyBytes.default(DEFAULT_CAPTURE_MAX_BODY_BYTES).describe("Bytes kept per body (request and response each); past it the body is cut and flagged truncated."),
    retentionHours: z
      .number()
      .positive()
      .max(24 * 366, "retentionHours is at most a year (8784)")
      .default(DEFAULT_CAPTURE_RETENTION_HOURS)
      .describe("Captured bodies older than this are deleted (every 10 minutes on Node; on Workers with each write)."),
    routes: z.partialRecord(z.enum(PROVIDER_IDS), captureRouteSchema).default({}).describe("Per provider route (openai, anthropic, …): `enabled` and `maxBodyBytes` override the global ones."),
  })
  .strict()
  .describe("Request and response body capture for the request log (docs/dashboard.md#body-capture): off by default, redacted, size-capped, deleted after retentionHours.");

export type BodyCaptureConfig = z.infer<typeof bodyCaptureSchema>;
