/**
 * One D1 batch — its statements run in order, in one transaction — with the results handed back
 * by name rather than by position, so adding a statement cannot shift what a caller reads.
 */
export async function runBatch<K extends string>(
  db: D1Database,
  statements: Readonly<Record<K, D1PreparedStatement>>,
): Promise<Record<K, D1Result>> {
  const names = Object.keys(statements) as K[];
  const results = await db.batch(names.map((name) => statements[name]));
  return Object.fromEntries(names.map((name, i) => [name, results[i]])) as Record<K, D1Result>;
}
