/** Ready-made datasets (torchvision.datasets). */
export { MNIST, type MNISTOptions, MNIST_MEAN, MNIST_STD } from './mnist.js';
