/**
 * Plan files: YAML (and JSON, which is YAML) through the one plan validator;
 * errors name the file, the line and the field; `--mode` overrides the file.
 */
import { describe, expect, it } from 'vitest';
import { parsePlanText } from '../../src/scheduler/plan-file.js';

const yamlPlan = `name: yaml-plan
mode: parallel
standby: [node-s]
subAccounts:
  - center: main
    id: alice
    password: alice-secret
  - center: main
    id: bob
    password: bob-secret-1
    priority: 5
`;

describe('plan files', () => {
  it('reads a YAML plan, and JSON as the YAML it is', () => {
    const p = parsePlanText(yamlPlan, 'plan.yaml');
    expect(p.name).toBe('yaml-plan');
    expect(p.subAccounts.map((a) => a.id)).toEqual(['alice', 'bob']);
    expect(p.standby).toEqual(['node-s']);
    const j = parsePlanText(JSON.stringify({ name: 'j', subAccounts: [{ center: 'main', id: 'a', password: 'password1' }] }), 'plan.json');
    expect(j.mode).toBe('parallel');
  });

  it('lets --mode override the file', () => {
    expect(parsePlanText(yamlPlan, 'plan.yaml', { mode: 'sequential' }).mode).toBe('sequential');
    // An invalid mode in the file does not matter when the flag sets it.
    expect(parsePlanText(yamlPlan.replace('mode: parallel', 'mode: sideways'), 'plan.yaml', { mode: 'parallel' }).mode).toBe('parallel');
  });

  it('names the line and the field of a bad value', () => {
    const bad = yamlPlan.replace('password: bob-secret-1', 'password: short');
    expect(() => parsePlanText(bad, 'plan.yaml')).toThrow(/^plan: plan\.yaml:10: subAccounts\.1\.password/);
    expect(() => parsePlanText(yamlPlan.replace('mode: parallel', 'mode: sideways'), 'plan.yaml')).toThrow(/^plan: plan\.yaml:2: mode: Invalid option/);
  });

  it('names the line of a syntax error, and refuses a key given twice', () => {
    expect(() => parsePlanText('name: x\nsubAccounts: [\n  {center: main\n', 'p.yaml')).toThrow(/^plan: p\.yaml:\d+:\d+: /);
    expect(() => parsePlanText('name: x\nname: y\nsubAccounts: []\n', 'p.yaml')).toThrow(/^plan: p\.yaml:2:\d+: .*[Mm]ap keys must be unique/);
  });

  it('leaves a missing field pointing at its parent', () => {
    expect(() => parsePlanText('name: x\nsubAccounts:\n  - center: main\n    password: alice-secret\n', 'p.yaml')).toThrow(/^plan: p\.yaml:3: subAccounts\.0/);
  });
});
