/** Data loading: datasets, the DataLoader, the IDX format and MNIST. */
export { type BatchOptions, type Dataset, TensorDataset, Subset } from './dataset.js';
export { DataLoader, type DataLoaderOptions, defaultCollate } from './dataloader.js';
export { parseIdx, readIdx, encodeIdx, type IdxArray, type IdxType, type IdxExpect, type IdxReadOptions } from './idx.js';
export { MNIST, type MNISTOptions, MNIST_MEAN, MNIST_STD, bundledMnistDir } from './mnist.js';
