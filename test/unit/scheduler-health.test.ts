/**
 * Node health (claim 4): a node that under-delivers fails, and going idle
 * afterwards (because it was taken off work) is not evidence of recovery;
 * it comes back only after delivering on probation.
 */
import { describe, expect, it } from 'vitest';
import { NodeHealth, type NodeSample } from '../../src/scheduler/health.js';
import { activeNodes } from '../../src/scheduler/policy.js';

const sample = (id: string, measured: number, mining = true, standby = false): NodeSample => ({ id, alive: true, mining, settled: mining, calibrated: 100, measured, standby });

describe('node health', () => {
  it('fails a node that under-delivers three decisions in a row, and does not recover it for going idle', () => {
    const h = new NodeHealth({ probationAfter: 5 });
    const events: string[] = [];
    const run = (c: NodeSample) => {
      const r = h.assess([sample('a', 100), sample('b', 95), c, sample('s', 0, false, true)]);
      events.push(...r.events.map((e) => `${e.kind} ${e.nodeId}`));
      return r.nodes;
    };
    run(sample('c', 10));
    run(sample('c', 10));
    expect(h.status('c')).toBe('ok');
    const failed = run(sample('c', 10));
    expect(h.status('c')).toBe('failed');
    expect(activeNodes(failed).map((n) => n.id)).toEqual(['a', 'b', 's']);
    // Taken off work, it reports idle: that is no evidence, it stays failed until its probation.
    for (let i = 0; i < 4; i++) expect(activeNodes(run(sample('c', 0, false))).map((n) => n.id)).toEqual(['a', 'b', 's']);
    expect(events).toEqual(['node-failed c']);
    // Probation: it works again, beside the standby that replaced it.
    const probation = run(sample('c', 0, false));
    expect(h.status('c')).toBe('probation');
    expect(activeNodes(probation).map((n) => n.id)).toEqual(['a', 'b', 's', 'c']);
    // Not working yet (waiting for its assignment) counts neither way.
    run(sample('c', 0, false));
    run(sample('c', 90));
    run(sample('c', 90));
    expect(h.status('c')).toBe('probation');
    const back = run(sample('c', 90));
    expect(h.status('c')).toBe('ok');
    expect(activeNodes(back).map((n) => n.id)).toEqual(['a', 'b', 'c']);
    expect(events).toEqual(['node-failed c', 'node-probation c', 'node-recovered c']);
  });

  it('fails a node that under-delivers on probation again, for twice as long', () => {
    const h = new NodeHealth({ probationAfter: 2 });
    const run = (measured: number, mining = true) => h.assess([sample('a', 100), sample('b', 100), sample('c', measured, mining)]).events.map((e) => e.kind);
    for (let i = 0; i < 3; i++) run(10);
    expect(h.status('c')).toBe('failed');
    run(0, false);
    expect(run(0, false)).toEqual(['node-probation']);
    run(10);
    run(10);
    expect(run(10)).toEqual(['node-failed']);
    // Twice the wait: 4 decisions.
    for (let i = 0; i < 3; i++) expect(run(0, false)).toEqual([]);
    expect(run(0, false)).toEqual(['node-probation']);
  });

  it('does not judge a node that just started working', () => {
    const h = new NodeHealth();
    for (let i = 0; i < 5; i++) h.assess([sample('a', 100), sample('b', 100), { ...sample('c', 5), settled: false }]);
    expect(h.status('c')).toBe('ok');
  });

  it('recovers a node lost to heartbeats when its heartbeats come back', () => {
    const h = new NodeHealth();
    expect(h.assess([{ ...sample('a', 0), alive: false }]).events.map((e) => e.kind)).toEqual(['node-failed']);
    expect(h.status('a')).toBe('failed');
    expect(h.assess([sample('a', 0, false)]).events.map((e) => e.kind)).toEqual(['node-recovered']);
    expect(h.status('a')).toBe('ok');
  });
});
