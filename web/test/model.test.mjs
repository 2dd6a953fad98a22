// Unit tests of the pages' data shaping (node --test; no dependencies).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bump, fingerprintRows, hopEdges, hops, objectPairs, payloadSummary, secretOf, stepsLabel, summary } from '../src/model.js';

test('hops orders decky visits and collapses repeats', () => {
  const cases = [
    { name: 'empty', timeline: [], deckies: [], want: [] },
    { name: 'deckies only', timeline: null, deckies: ['a', 'b'], want: ['a', 'b'] },
    {
      name: 'newest first timeline',
      timeline: [{ id: 5, decky: 'b' }, { id: 4, decky: 'a' }, { id: 3, decky: 'a' }, { id: 2, decky: 'b' }, { id: 1, decky: 'a' }],
      deckies: ['a', 'b'],
      want: ['a', 'b', 'a', 'b'],
    },
    { name: 'earlier deckies first', timeline: [{ id: 9, decky: 'c' }], deckies: ['a', 'b', 'c'], want: ['a', 'b', 'c'] },
    { name: 'rows without decky ignored', timeline: [{ id: 1 }, null, { id: 2, decky: 'x' }], deckies: [], want: ['x'] },
  ];
  for (const c of cases) assert.deepEqual(hops(c.timeline, c.deckies), c.want, c.name);
});

test('hopEdges aggregates repeated hops', () => {
  assert.deepEqual(hopEdges([]), []);
  assert.deepEqual(hopEdges(['a', 'b', 'a', 'b']), [
    { source: null, target: 'a', steps: [1] },
    { source: 'a', target: 'b', steps: [2, 4] },
    { source: 'b', target: 'a', steps: [3] },
  ]);
  // A decky named like the attacker node is still a decky.
  assert.deepEqual(hopEdges(['attacker', 'x']), [
    { source: null, target: 'attacker', steps: [1] },
    { source: 'attacker', target: 'x', steps: [2] },
  ]);
});

test('stepsLabel', () => {
  assert.equal(stepsLabel([1]), '1');
  assert.equal(stepsLabel([2, 4, 6, 8]), '2,4,6,8');
  assert.equal(stepsLabel([1, 2, 3, 4, 5, 6]), '1,2,3,4… (6)');
});

test('summary picks the telling fields', () => {
  assert.equal(summary({ fields: { outcome: 'failure', username: 'root', password: 'x', path: '/a' } }), 'username=root  password=x  path=/a');
  assert.equal(summary({ fields: { command: 'id' } }), 'command=id');
  assert.equal(summary({ fields: {}, msg: 'hello' }), 'hello');
  assert.equal(summary({}), '');
  assert.equal(summary(null), '');
});

test('payloadSummary puts secrets first and base64 last', () => {
  assert.equal(payloadSummary({ secret_b64: 'eA==', zeta: 1, password: 'p', username: 'u' }), 'username=u  password=p  zeta=1  secret_b64=eA==');
  assert.equal(payloadSummary(null), '');
  assert.equal(payloadSummary([1, 2]), '');
});

test('secretOf', () => {
  assert.equal(secretOf({ password: 'p', secret_b64: 'x' }), 'p');
  assert.equal(secretOf({ community: 'public' }), 'public');
  assert.equal(secretOf({}), '');
  assert.equal(secretOf('x'), '');
});

test('fingerprintRows accepts a list or a map', () => {
  assert.deepEqual(fingerprintRows([{ kind: 'ja3', value: 'v' }, null, 'x']), [{ kind: 'ja3', value: 'v' }]);
  assert.deepEqual(fingerprintRows({ ja4: ['a', 'b'], hassh: 'h' }), [
    { kind: 'hassh', value: 'h' },
    { kind: 'ja4', value: 'a' },
    { kind: 'ja4', value: 'b' },
  ]);
  assert.deepEqual(fingerprintRows({ ua: { value: 'curl', count: 2 } }), [{ kind: 'ua', value: 'curl', count: 2 }]);
  assert.deepEqual(fingerprintRows(undefined), []);
});

test('objectPairs sorts keys', () => {
  assert.deepEqual(objectPairs({ b: 1, a: 2 }), [['a', 2], ['b', 1]]);
  assert.deepEqual(objectPairs(null), []);
});

test('bump counts live events', () => {
  assert.deepEqual(bump([{ key: 'ssh', count: 1 }, { key: 'http', count: 1 }], 'http'), [{ key: 'http', count: 2 }, { key: 'ssh', count: 1 }]);
  assert.deepEqual(bump([], 'ftp'), [{ key: 'ftp', count: 1 }]);
  assert.deepEqual(bump(undefined, 'ftp'), undefined);
  const list = [{ key: 'a', count: 1 }];
  assert.equal(bump(list, ''), list);
});
