/**
 * Operator actions: what the dashboard may change, each sent as a bus
 * request to the service that owns the state (the node, the center, the
 * scheduler). The HTTP body is the bus message without its `v`; it is
 * validated by the very schema the bus uses, so a bad value gets the same
 * typed error (`INVALID_MESSAGE` naming the field) as it would on the bus,
 * and the owner's errors (`NOT_FOUND`, `SUBACCOUNT`, ...) come back as is.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { ErrorCode, HashgridError } from '../core/errors.js';
import { decode } from '../bus/codec.js';
import { request } from '../bus/rpc.js';
import {
  Control,
  ControlDone,
  SCHEMA_VERSION,
  SchedulerAccountChange,
  SchedulerStatus,
  SubAccountAdd,
  SubAccountReply,
  SubAccountSetStandard,
  type SubAccountInfo,
} from '../bus/schemas.js';
import { isValidNodeId, subjects } from '../bus/subjects.js';

const encoder = new TextEncoder();

/** Validates `body` (plus fields from the path) as the bus message `schema` describes. */
function asMessage<S extends z.ZodType>(schema: S, name: string, body: unknown, fields: Record<string, unknown>): z.output<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HashgridError(ErrorCode.BAD_MESSAGE, `${name}: expected a JSON object body`);
  }
  return decode(schema, encoder.encode(JSON.stringify({ ...body, ...fields, v: SCHEMA_VERSION })), name);
}

/** A path segment that becomes a subject token (node, center, plan and sub-account ids). */
function token(what: string, value: string): string {
  if (!isValidNodeId(value)) throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `${what}: expected letters, digits, _ and - (at most 64), got "${value}"`);
  return value;
}

/** Adding a sub-account may also put it into a scheduler plan, so that nodes work for it. */
const AddBody = SubAccountAdd.extend({ plan: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a plan name: letters, digits, _ and -').optional() });

export class OperatorActions {
  constructor(
    private readonly nc: NatsConnection,
    /** Request timeout (default 2000 ms, the bus default). */
    private readonly timeoutMs = 2000,
  ) {}

  /** Pauses, resumes or cancels a node: `{action}` → the node's new state. */
  async controlNode(nodeId: string, body: unknown): Promise<{ nodeId: string; state: string }> {
    const id = token('node id', nodeId);
    const message = asMessage(Control, 'Control', body, {});
    const done = await request(this.nc, subjects.nodeControl(id), Control, message, ControlDone, 'Control', this.timeoutMs);
    return { nodeId: id, state: done.state };
  }

  /** Changes a sub-account's standard: `{standard, windowSeconds?}` → its SubAccountInfo. */
  async setStandard(centerId: string, id: string, body: unknown): Promise<{ info: SubAccountInfo }> {
    const cid = token('center id', centerId);
    const message = asMessage(SubAccountSetStandard, 'SubAccountSetStandard', body, { id: token('sub-account id', id) });
    const reply = await request(this.nc, subjects.center(cid).setStandard, SubAccountSetStandard, message, SubAccountReply, 'SubAccountSetStandard', this.timeoutMs);
    return { info: reply.info };
  }

  /**
   * Adds a sub-account: `{id, password, standard, windowSeconds, plan?}`.
   * With `plan`, the sub-account also joins that scheduler plan.
   */
  async addSubAccount(centerId: string, body: unknown): Promise<{ info: SubAccountInfo; plan?: string }> {
    const cid = token('center id', centerId);
    const { plan, ...message } = asMessage(AddBody, 'SubAccountAdd', body, {});
    const reply = await request(this.nc, subjects.center(cid).add, SubAccountAdd, message, SubAccountReply, 'SubAccountAdd', this.timeoutMs);
    if (!plan) return { info: reply.info };
    const change = { v: SCHEMA_VERSION, action: 'add' as const, account: { center: cid, id: message.id, password: message.password } };
    try {
      await request(this.nc, subjects.scheduler(plan).accounts, SchedulerAccountChange, change, SchedulerStatus, 'SchedulerAccountChange', this.timeoutMs);
    } catch (e) {
      // Half done is worth saying: the center has it, the plan does not.
      if (e instanceof HashgridError) throw new HashgridError(e.code, `sub-account ${message.id} was added to center ${cid}, but not to plan ${plan}: ${e.message}`, e.data);
      throw e;
    }
    return { info: reply.info, plan };
  }
}

/** The HTTP status of a typed error: the caller's mistakes are 4xx, the grid's trouble 5xx. */
export function httpStatus(code: string): number {
  switch (code) {
    case ErrorCode.UNAUTHORIZED:
      return 401;
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.SUBACCOUNT:
    case ErrorCode.INVALID_STATE:
      return 409;
    case ErrorCode.PAYLOAD_TOO_LARGE:
      return 413;
    case ErrorCode.NO_RESPONDERS:
      return 503;
    case ErrorCode.BUS_TIMEOUT:
      return 504;
    case ErrorCode.BAD_MESSAGE:
    case ErrorCode.INVALID_MESSAGE:
    case ErrorCode.UNSUPPORTED_VERSION:
    case ErrorCode.INVALID_ARGUMENT:
      return 400;
    default:
      return 502;
  }
}
