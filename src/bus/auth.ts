/**
 * Authentication and per-role subject permissions for the embedded server.
 *
 * Roles:
 *  - service (distribution center, scheduler, PPoV, dashboard, operators):
 *    the whole `hashgrid.>` space, JetStream, and $SRV discovery.
 *  - node: may publish only its own heartbeats, shares and exhaustion
 *    notices and the registration request; may subscribe only to its own
 *    per-node subjects and its own inbox prefix; may answer requests sent to
 *    it (allow_responses) and $SRV discovery.
 *  - dashboard: may ask what the dashboard shows (center lists and stats,
 *    scheduler status, node descriptions, PPoV status and sync) and listen
 *    to registrations, heartbeats and events; with `actions`, also the
 *    operator requests (node control, sub-account add and standard,
 *    scheduler account changes). It answers node registrations (its own
 *    node pool), hence allow_responses.
 *
 * Credentials are user/password or an nkey (public key on the server, seed
 * with the client). Passwords live in the server config, written 0600 in
 * the state folder; they are never logged.
 */
import { randomBytes } from 'node:crypto';
import { SUBJECT_PREFIX, subjects } from './subjects.js';

export type Credential = { user: string; password: string } | { nkey: string };

export interface UserGrant {
  credential: Credential;
  role: 'service' | 'node' | 'dashboard';
  /** For nodes: the node id whose subjects it may use. */
  nodeId?: string;
  /** For dashboards: may it send the operator actions (default false: a read-only wall screen). */
  actions?: boolean;
}

/** Inbox prefix a node must use (connect option `inboxPrefix`), so it cannot read other inboxes. */
export const nodeInboxPrefix = (nodeId: string) => `_INBOX_${nodeId}`;

export const randomPassword = (): string => randomBytes(18).toString('base64url');

export function nodePermissions(nodeId: string) {
  return {
    publish: [subjects.nodeRegister, subjects.nodeHeartbeat(nodeId), subjects.share(nodeId), subjects.nodeExhausted(nodeId)],
    subscribe: [`hashgrid.nodes.${nodeId}.>`, `${nodeInboxPrefix(nodeId)}.>`, '$SRV.>'],
  };
}

/**
 * A dashboard user's replies arrive under its own inbox prefix: with `_INBOX.>`
 * it could read every reply on the bus (center session tokens among them).
 */
export const dashboardInboxPrefix = (user: string) => `_INBOX_dash_${user.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/** What a dashboard (user `user`) asks and listens to, for any center, plan, chain and node (`*`). */
export function dashboardPermissions(actions: boolean, user: string) {
  const center = subjects.center('*');
  const plan = subjects.scheduler('*');
  const ppov = subjects.ppov('*');
  const read = [center.list, center.stats, plan.status, subjects.nodeDescribe('*'), ppov.status('*'), ppov.sync('*')];
  const act = [subjects.nodeControl('*'), center.add, center.setStandard, plan.accounts];
  return {
    publish: actions ? [...read, ...act] : read,
    subscribe: [subjects.nodeRegister, subjects.allHeartbeats, plan.events, `${SUBJECT_PREFIX}.center.*.events.>`, `${dashboardInboxPrefix(user)}.>`],
  };
}

const q = (s: string) => JSON.stringify(s);
const list = (xs: string[]) => `[${xs.map(q).join(', ')}]`;

/** The `authorization { users = [...] }` block for nats-server. */
export function authorizationBlock(grants: UserGrant[]): string {
  const users = grants.map((g) => {
    const who = 'password' in g.credential ? `user: ${q(g.credential.user)}, password: ${q(g.credential.password)}` : `nkey: ${q(g.credential.nkey)}`;
    if (g.role === 'service') return `    { ${who} }`;
    const p = g.role === 'node' ? nodePermissions(g.nodeId!) : dashboardPermissions(g.actions === true, 'user' in g.credential ? g.credential.user : g.credential.nkey);
    // allow_responses lets a node answer the work and control requests sent to it (a dashboard, registrations), and nothing else.
    return `    { ${who}, permissions: { publish: { allow: ${list(p.publish)} }, subscribe: { allow: ${list(p.subscribe)} }, allow_responses: true } }`;
  });
  return `authorization {\n  users = [\n${users.join('\n')}\n  ]\n}`;
}

/** A URL with any password replaced, safe for logs. */
export const redactUrl = (url: string): string => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
