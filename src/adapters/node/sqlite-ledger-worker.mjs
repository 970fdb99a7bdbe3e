// Worker thread that writes ledger batches to the embedded SQLite file (see sqlite.ts): the
// statement names the columns it is given, the store's LEDGER_COLUMNS (src/store/ledger-columns.ts).
// Plain JavaScript on purpose: a worker starts without the TypeScript loader.
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { file, columns } = workerData;
const db = new Database(file, { fileMustExist: true });
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = 5000");
const statement = db.prepare(`insert into ledger (${columns.join(", ")}) values (${columns.map(() => "?").join(", ")}) on conflict (request_id) do nothing`);
const insertAll = db.transaction((rows) => {
  for (const values of rows) statement.run(values);
});

parentPort.on("message", ({ id, rows }) => {
  try {
    insertAll(JSON.parse(rows));
    parentPort.postMessage({ id });
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
