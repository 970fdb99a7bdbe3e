// Worker thread of the embedded store's read-only analytics connection (see sqlite-reader.ts).
// Plain JavaScript on purpose: a worker starts without the TypeScript loader.
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
db.pragma("busy_timeout = 5000");

parentPort.on("message", (message) => {
  const { id, sql, parameters } = message;
  try {
    const statement = db.prepare(sql);
    if (!statement.reader) throw new Error("the analytics connection is read-only: only queries that return rows run here");
    parentPort.postMessage({ id, rows: statement.all(...parameters) });
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
