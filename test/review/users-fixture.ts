/** A tiny users service and a change that plants a SQL injection and an N+1 query: the reviewer tests' fixture. */
export const usersBefore = `import { db } from "./db.ts";

export async function findUser(email: string) {
  return db.query("SELECT * FROM users WHERE email = $1", [email]);
}
`;

export const usersWithInjection = `import { db } from "./db.ts";

export async function findUser(email: string) {
  return db.query(\`SELECT * FROM users WHERE email = '\${email}'\`);
}

export async function loadTeams(ids: string[]) {
  const teams = [];
  for (const id of ids) {
    teams.push(await db.query("SELECT * FROM teams WHERE id = $1", [id]));
  }
  return teams;
}
`;
