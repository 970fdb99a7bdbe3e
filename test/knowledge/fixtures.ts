import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Clock } from "../../src/core/clock.ts";

/** A temp dir of repository checkouts: `files` maps relative paths to contents. */
export function checkouts(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "gatehouse-knowledge-"));
  writeCheckoutFiles(root, files);
  return root;
}

export function writeCheckoutFiles(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

export class StepClock implements Clock {
  constructor(public t = Date.UTC(2026, 11, 1, 9, 0, 0)) {}
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
}

export const paymentsRepo = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  title: Payments service
  description: Charges cards and books ledgers.
  tags: [java, payments]
  links:
    - url: https://runbooks.example/payments
      title: Runbook
spec:
  type: service
  lifecycle: production
  owner: team-payments
  system: checkout
  providesApis: [payments-api]
  consumesApis: [fraud-api]
  dependsOn: [resource:payments-db, component:default/ledger]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: payments-api
  description: Public payments API
spec:
  type: openapi
  lifecycle: production
  owner: team-payments
  system: checkout
  definition: |
    openapi: 3.0.0
    info: { title: Payments, version: 1.0.0 }
    paths: { /charges: { post: { responses: { "200": { description: ok } } } } }
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: payments-db
spec:
  type: database
  owner: team-payments
  system: checkout
`;

export const orgRepo = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-payments
  title: Payments team
spec:
  type: team
  profile: { email: payments@example.com }
  parent: engineering
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: engineering
spec:
  type: department
  children: [team-payments]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ada
spec:
  profile: { displayName: Ada Lovelace, email: ada@example.com }
  memberOf: [team-payments]
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: checkout
spec:
  owner: team-payments
`;

export const fraudRepo = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: fraud
spec:
  type: service
  lifecycle: production
  owner: team-risk
  providesApis: [fraud-api]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: fraud-api
spec:
  type: grpc
  lifecycle: production
  owner: team-risk
  definition: "service Fraud { rpc Score(Req) returns (Res); }"
`;

export const ledgerRepo = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
spec:
  type: service
  lifecycle: production
  owner: team-payments
`;
