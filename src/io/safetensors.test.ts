// safetensors: round trip (F32, F64, I64 num_batches_tracked, metadata), reading the shipped akamaster
// file, atomic writes, and one-line LrqErrors for truncated or corrupt input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensor, full } from '../engine/tensor.js';
import { LrqError } from '../engine/errors.js';
import { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors } from './safetensors.js';

const SHIPPED = fileURLToPath(new URL('../../../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.safetensors', import.meta.url));

function sample() {
  return new Map([
    ['a.weight', tensor([1.5, -2.25, 3e-8, 7], [2, 2])],
    ['b.bias', tensor([0.1, 0.2, 0.3], [3], { dtype: 'float64' })],
    ['bn.num_batches_tracked', full([], 1234)],
    ['empty', tensor([], [0, 4])],
  ]);
}

test('round trip keeps names, shapes, dtypes, values and metadata; I64 for num_batches_tracked', () => {
  const bytes = serializeSafetensors(sample(), { arch: 'x', note: 'ü' });
  const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + hlen) % 8, 0, 'data section is 8-byte aligned');
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + hlen)).toString('utf8'));
  assert.equal(header['bn.num_batches_tracked'].dtype, 'I64');
  assert.equal(header['b.bias'].dtype, 'F64');
  assert.equal(header['a.weight'].dtype, 'F32');
  const { tensors, metadata } = parseSafetensors(bytes);
  assert.deepEqual(metadata, { arch: 'x', note: 'ü' });
  for (const [k, t] of sample()) {
    const r = tensors.get(k)!;
    assert.deepEqual(r.shape, t.shape, k);
    assert.equal(r.dtype, t.dtype, k);
    assert.deepEqual(r.toArray(), t.toArray(), k);
  }
});

test('writeSafetensors is atomic: no temp files remain, reading back gives the same tensors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-st-'));
  try {
    const p = join(dir, 'm.safetensors');
    writeSafetensors(p, sample());
    writeSafetensors(p, sample(), { v: '2' });
    assert.deepEqual(readdirSync(dir), ['m.safetensors']);
    assert.equal(readSafetensors(p).metadata['v'], '2');
    assert.deepEqual(readSafetensors(p).tensors.get('a.weight')!.toArray(), sample().get('a.weight')!.toArray());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reads the shipped akamaster ResNet-20 file (written by the reference implementation)', { skip: !existsSync(SHIPPED) && 'shared data not present' }, () => {
  const { tensors, metadata } = readSafetensors(SHIPPED);
  assert.equal(tensors.size, 116);
  assert.equal(metadata['arch'], 'resnet20_cifar10');
  assert.deepEqual(tensors.get('blocks.0.c1.weight')!.shape, [16, 16, 3, 3]);
  const nbt = tensors.get('stem_bn.num_batches_tracked')!;
  assert.deepEqual(nbt.shape, []);
  assert.ok(Number.isInteger(nbt.item()) && nbt.item() >= 0);
  const params = [...tensors].filter(([k]) => !k.includes('running_') && !k.includes('num_batches')).reduce((a, [, t]) => a + t.size, 0);
  assert.equal(params, 269722);
});

test('truncated and corrupt files raise one-line LrqErrors naming the file', () => {
  const good = serializeSafetensors(sample());
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 5), /too short/],
    [good.subarray(0, 20), /header length/],
    [good.subarray(0, good.length - 3), /truncated/],
  ];
  const badJson = good.slice();
  badJson[9] = 0x7b; // '{{' breaks the JSON
  cases.push([badJson, /not JSON/]);
  const hlen = Number(new DataView(good.buffer).getBigUint64(0, true));
  const mk = (h: object) => {
    const j = Buffer.from(JSON.stringify(h));
    const b = new Uint8Array(8 + j.length + 16);
    new DataView(b.buffer).setBigUint64(0, BigInt(j.length), true);
    b.set(j, 8);
    return b;
  };
  cases.push([mk({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), /do not hold 3 × F32/]);
  cases.push([mk({ x: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }), /unsupported dtype Q4/]);
  cases.push([mk({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }), /invalid shape/]);
  cases.push([mk([1, 2]), /not a JSON object/]);
  assert.ok(hlen > 0);
  for (const [bytes, re] of cases) {
    assert.throws(() => parseSafetensors(bytes, 'f.safetensors'), (e: Error) => e instanceof LrqError && re.test(e.message) && e.message.startsWith('f.safetensors: ') && !e.message.includes('\n'), String(re));
  }
  const dir = mkdtempSync(join(tmpdir(), 'lrq-st-'));
  try {
    const p = join(dir, 'cut.safetensors');
    writeFileSync(p, good.subarray(0, good.length - 1));
    assert.throws(() => readSafetensors(p), /cut\.safetensors: .*truncated/);
    assert.throws(() => readSafetensors(join(dir, 'missing.safetensors')), /missing\.safetensors: cannot read .*ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
