// Starts Backstage's own catalog backend, as a Backstage app does (new backend system), for the
// knowledge tests. Config comes from the app-config file given with --config (port, SQLite in
// memory, a static external-access token, file locations). Prints "BACKSTAGE READY" once up.
import { createBackend } from "@backstage/backend-defaults";

const backend = createBackend();
backend.add(import("@backstage/plugin-catalog-backend"));
await backend.start();
process.stdout.write("BACKSTAGE READY\n");
