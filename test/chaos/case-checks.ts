/**
 * The end of a run: wait for every grant to settle (a server that died on its own is a
 * violation, and is started again so the rest can still be judged), then the store-side
 * invariants: no job left, each grant's audit history, the chain, and a bounded shutdown.
 */
import type { ChaosNode } from './chaos-node.js';
import { checkHistory, jobsLeft, settled, verifyChain } from './invariants.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls alice's grants until all are settled or `withinMs` passed; returns their last views. */
export async function settle(node: ChaosNode, token: string, violations: string[], withinMs: number): Promise<any[]> {
  const deadline = Date.now() + withinMs;
  let views: any[] = [];
  for (;;) {
    if (node.crashed()) {
      violations.push(`the server exited on its own: ${node.output().slice(-300)}`);
      await node.restart();
    }
    const answer = await node.call(token, 'GET', '/v1/grants').catch(() => undefined);
    if (answer?.status === 200) views = answer.body.grants as any[];
    if (answer?.status === 200 && views.every(settled)) return views;
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  for (const view of views.filter((v) => !settled(v))) {
    const detail = await node.call(token, 'GET', `/v1/grants/${view.id}`).catch(() => undefined);
    violations.push(`stuck: grant ${view.id} (${view.account}) still ${view.state} after ${withinMs / 1000} s; ${JSON.stringify(detail?.body?.stuck ?? {})}`);
  }
  return views;
}

/** No job left, every grant's history replays, and (PostgreSQL store) the chain verifies online. */
export async function checkStore(node: ChaosNode, views: readonly any[], violations: string[]): Promise<void> {
  // The job is deleted in its own transaction just after the step it did: allow it a moment.
  const deadline = Date.now() + 10_000;
  let left = await jobsLeft(node);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(250);
    left = await jobsLeft(node);
  }
  if (left.length > 0) violations.push(`jobs left: ${JSON.stringify(left).slice(0, 300)}`);
  const bundle = await node.call(node.adminToken, 'GET', '/v1/audit/export', undefined, 60_000);
  if (bundle.status !== 200 || typeof bundle.body !== 'string') {
    violations.push(`audit export: ${bundle.status}`);
  } else {
    for (const view of views) violations.push(...checkHistory(bundle.body, view));
  }
  if (node.databaseUrl !== undefined) violations.push(...(await verifyChain(node)));
}

/** A bounded shutdown, then (SQLite) `audit verify --data-dir` on the stopped data dir. */
export async function finish(node: ChaosNode, violations: string[]): Promise<void> {
  const took = await node.stop(15_000);
  if (took === undefined) violations.push('shutdown: still running 15 s after SIGTERM (killed)');
  if (node.databaseUrl === undefined) violations.push(...(await verifyChain(node)));
}
