/** Classification metrics: accuracy and the confusion matrix. */
import { argmax } from '../ops/reduce.js';
import { dataSync } from '../ops/format.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Predicted classes: argmax over the last dim of scores [N, C], or the labels themselves when already [N]. */
export function predictions(output: Tensor): Tensor {
  if (output.ndim === 2) return argmax(output, 1);
  if (output.ndim === 1 && output.dtype === 'int32') return output;
  throw new Error(`predictions: expected scores [N, C] or int32 labels [N], got ${output.dtype} ${fmt(output.shape)}`);
}

function labelsOf(target: Tensor, n: number, op: string): Int32Array | Float32Array | Float64Array | Uint8Array {
  if (target.ndim !== 1 || target.shape[0] !== n) throw new Error(`${op}: target must be class indices [${n}], got ${fmt(target.shape)}`);
  return dataSync(target);
}

/** Number of samples whose predicted class (argmax of `output`) equals `target`. */
export function correctCount(output: Tensor, target: Tensor): number {
  const pred = dataSync(predictions(output));
  const lab = labelsOf(target, pred.length, 'accuracy');
  let c = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === lab[i]) c++;
  return c;
}

/** Fraction (0..1) of samples whose predicted class equals the target class. */
export function accuracy(output: Tensor, target: Tensor): number {
  const n = output.shape[0]!;
  if (n === 0) throw new Error('accuracy: no samples');
  return correctCount(output, target) / n;
}

/**
 * The confusion matrix as an int32 tensor [numClasses, numClasses]: row = true class, column = predicted
 * class (scikit-learn's layout). `output` is scores [N, C] or predicted labels [N].
 */
export function confusionMatrix(output: Tensor, target: Tensor, numClasses?: number): Tensor {
  const pred = dataSync(predictions(output));
  const lab = labelsOf(target, pred.length, 'confusionMatrix');
  const k = numClasses ?? (output.ndim === 2 ? output.shape[1]! : Math.max(0, ...pred, ...lab) + 1);
  const m = new Int32Array(k * k);
  for (let i = 0; i < pred.length; i++) {
    const t = lab[i]!, p = pred[i]!;
    if (!(t >= 0 && t < k && Number.isInteger(t))) throw new Error(`confusionMatrix: target ${t} at index ${i} is not a class in 0..${k - 1}`);
    if (!(p >= 0 && p < k)) throw new Error(`confusionMatrix: prediction ${p} at index ${i} is not a class in 0..${k - 1}`);
    m[t * k + p]!++;
  }
  return new Tensor(m, [k, k]);
}

/** A confusion matrix as aligned text, rows = true class, columns = predicted class. */
export function formatConfusionMatrix(matrix: Tensor, labels?: readonly string[]): string {
  const k = matrix.shape[0]!;
  const v = dataSync(matrix);
  const names = labels ?? Array.from({ length: k }, (_, i) => String(i));
  const w = Math.max(...Array.from(v, (x) => String(x).length), ...names.map((s) => s.length), 4);
  const c0 = Math.max('true\\pred'.length, ...names.map((s) => s.length)) + 1;
  const head = `${'true\\pred'.padEnd(c0)}${names.map((s) => s.padStart(w)).join(' ')}`;
  const rows = names.map((s, i) => `${s.padEnd(c0)}${Array.from(v.subarray(i * k, (i + 1) * k), (x) => String(x).padStart(w)).join(' ')}`);
  return [head, ...rows].join('\n');
}
