// Float32 parity of every available backend against the reference kernels for the elementwise,
// broadcasting, reduction and layout ops (forward and backward), on shapes like the models' own.
import { test } from 'node:test';
import { Rng } from '../random.js';
import { assertClose, withBackend } from '../testing.js';
import { type Tensor } from '../tensor.js';
import { availableBackends } from '../backend.js';
import * as ops from './index.js';

type Case = [string, (xs: Tensor[]) => Tensor, number[][]];
const cases: Case[] = [
  ['relu', ([x]) => ops.relu(x!), [[2, 3, 5, 5]]],
  ['relu6', ([x]) => ops.relu6(ops.mul(x!, 5)), [[2, 3, 5, 5]]],
  ['leakyRelu', ([x]) => ops.leakyRelu(x!, 0.2), [[4, 30]]],
  ['tanh', ([x]) => ops.tanh(x!), [[4, 30]]],
  ['sigmoid', ([x]) => ops.sigmoid(x!), [[4, 30]]],
  ['gelu', ([x]) => ops.gelu(x!), [[4, 30]]],
  ['exp/log', ([x]) => ops.log(ops.add(ops.exp(x!), 1)), [[4, 30]]],
  ['sqrt/abs', ([x]) => ops.sqrt(ops.add(ops.abs(x!), 0.1)), [[4, 30]]],
  ['square/sin/cos', ([x]) => ops.add(ops.square(ops.sin(x!)), ops.cos(x!)), [[4, 30]]],
  ['add bcast', ([a, b]) => ops.add(a!, b!), [[2, 3, 4, 4], [1, 3, 1, 1]]],
  ['sub bcast', ([a, b]) => ops.sub(a!, b!), [[2, 3, 4, 4], [4]]],
  ['mul bcast', ([a, b]) => ops.mul(a!, b!), [[3, 1, 5], [1, 4, 5]]],
  ['div', ([a, b]) => ops.div(a!, ops.add(ops.abs(b!), 0.5)), [[6, 7], [6, 7]]],
  ['maximum/minimum', ([a, b]) => ops.add(ops.maximum(a!, b!), ops.minimum(a!, b!)), [[6, 7], [7]]],
  ['sum axes', ([x]) => ops.sum(x!, [0, 2, 3]), [[4, 3, 5, 5]]],
  ['mean last', ([x]) => ops.mean(x!, -1), [[4, 3, 7]]],
  ['variance', ([x]) => ops.variance(x!, [0, 2]), [[4, 3, 7]]],
  ['amax', ([x]) => ops.amax(x!, 1), [[4, 9]]],
  ['permute', ([x]) => ops.permute(x!, [0, 2, 3, 1]), [[2, 3, 4, 5]]],
  ['slice/pad/concat', ([x]) => ops.concat([ops.slice(x!, 3, 0, null, 2), ops.pad(x!, [[1, 1]])], 3), [[2, 3, 4, 3]]],
  ['batchStats', ([x]) => { const s = ops.batchStats(x!); return ops.add(s.mean, s.var); }, [[4, 3, 5, 5]]],
];

for (const name of availableBackends()) {
  test(`elementwise / reduction / layout float32 parity: ${name} vs reference`, () => {
    const rng = new Rng(31);
    for (const [what, f, shapes] of cases) {
      const xs = shapes.map((s) => rng.normal(s).requiresGrad_());
      const g = rng.normal(f(xs).shape);
      const run = () => {
        for (const x of xs) x.grad = null;
        const y = f(xs);
        y.backward(g);
        return [y.data, ...xs.map((x) => x.grad!.data)];
      };
      const want = withBackend('reference', run);
      const got = withBackend(name, run);
      got.forEach((d, i) => assertClose(d, want[i]!, 1e-5, 1e-4, `${name} ${what} output ${i}`));
    }
  });
}
