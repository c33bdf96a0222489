"""PyTorch reference for bench/train.sh: the same small-cnn and
Inception-v3 as flawprobe's `src/models`, timed the same way as
`flawprobe-torch bench` (one warm-up batch, then STEPS timed batches of
Adam training steps and of evaluation-mode forward passes with every tap
average-pooled). Prints one JSON line."""

import argparse
import json
import time

import torch
from torch import nn
import torch.nn.functional as F


class ConvBn(nn.Module):
    """Bias-free convolution, batch normalisation, ReLU."""

    def __init__(self, cin, cout, kernel, stride=1, same=True, scale=True, eps=1e-5, momentum=0.1):
        super().__init__()
        kh, kw = kernel
        pad = (kh // 2, kw // 2) if same else (0, 0)
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=pad, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=eps, momentum=momentum, affine=True)
        if not scale:
            # Keras' scale=False: no learnt gamma.
            self.bn.weight.requires_grad_(False)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class SmallCnn(nn.Module):
    def __init__(self, classes):
        super().__init__()
        chans = [3, 16, 32, 64, 128]
        # The first convolution has stride 2, as in flawprobe's small-cnn.
        self.blocks = nn.ModuleList(
            ConvBn(a, b, (3, 3), stride=2 if i == 0 else 1) for i, (a, b) in enumerate(zip(chans, chans[1:]))
        )
        self.head = nn.Linear(128, classes)

    def forward_taps(self, x):
        taps = []
        for block in self.blocks:
            x = F.max_pool2d(block(x), 2)
            taps.append(x)
        return self.head(x.mean((2, 3))), taps


def kconv(cin, cout, kernel, stride=1, same=True):
    return ConvBn(cin, cout, kernel, stride, same, scale=False, eps=1e-3, momentum=0.01)


def seq(x, layers):
    for layer in layers:
        x = layer(x)
    return x


def avg_same(x):
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


class BlockA(nn.Module):
    def __init__(self, cin, pool):
        super().__init__()
        self.b1 = kconv(cin, 64, (1, 1))
        self.b5 = nn.ModuleList([kconv(cin, 48, (1, 1)), kconv(48, 64, (5, 5))])
        self.b3 = nn.ModuleList([kconv(cin, 64, (1, 1)), kconv(64, 96, (3, 3)), kconv(96, 96, (3, 3))])
        self.bp = kconv(cin, pool, (1, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), seq(x, self.b5), seq(x, self.b3), self.bp(avg_same(x))], 1)


class BlockB(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.b3 = kconv(cin, 384, (3, 3), 2, False)
        self.bd = nn.ModuleList([kconv(cin, 64, (1, 1)), kconv(64, 96, (3, 3)), kconv(96, 96, (3, 3), 2, False)])

    def forward(self, x):
        return torch.cat([self.b3(x), seq(x, self.bd), F.max_pool2d(x, 3, 2)], 1)


class BlockC(nn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.b1 = kconv(cin, 192, (1, 1))
        self.b7 = nn.ModuleList([kconv(cin, c7, (1, 1)), kconv(c7, c7, (1, 7)), kconv(c7, 192, (7, 1))])
        self.bd = nn.ModuleList([kconv(cin, c7, (1, 1)), kconv(c7, c7, (7, 1)), kconv(c7, c7, (1, 7)),
                                 kconv(c7, c7, (7, 1)), kconv(c7, 192, (1, 7))])
        self.bp = kconv(cin, 192, (1, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), seq(x, self.b7), seq(x, self.bd), self.bp(avg_same(x))], 1)


class BlockD(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.b3 = nn.ModuleList([kconv(cin, 192, (1, 1)), kconv(192, 320, (3, 3), 2, False)])
        self.b7 = nn.ModuleList([kconv(cin, 192, (1, 1)), kconv(192, 192, (1, 7)), kconv(192, 192, (7, 1)),
                                 kconv(192, 192, (3, 3), 2, False)])

    def forward(self, x):
        return torch.cat([seq(x, self.b3), seq(x, self.b7), F.max_pool2d(x, 3, 2)], 1)


class BlockE(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.b1 = kconv(cin, 320, (1, 1))
        self.b3 = kconv(cin, 384, (1, 1))
        self.b3a, self.b3b = kconv(384, 384, (1, 3)), kconv(384, 384, (3, 1))
        self.bd = nn.ModuleList([kconv(cin, 448, (1, 1)), kconv(448, 384, (3, 3))])
        self.bda, self.bdb = kconv(384, 384, (1, 3)), kconv(384, 384, (3, 1))
        self.bp = kconv(cin, 192, (1, 1))

    def forward(self, x):
        h3, hd = self.b3(x), seq(x, self.bd)
        return torch.cat([self.b1(x), self.b3a(h3), self.b3b(h3), self.bda(hd), self.bdb(hd),
                          self.bp(avg_same(x))], 1)


class InceptionV3(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.stem = nn.ModuleList([kconv(3, 32, (3, 3), 2, False), kconv(32, 32, (3, 3), 1, False),
                                   kconv(32, 64, (3, 3)), kconv(64, 80, (1, 1), 1, False),
                                   kconv(80, 192, (3, 3), 1, False)])
        self.blocks = nn.ModuleList([
            BlockA(192, 32), BlockA(256, 64), BlockA(288, 64), BlockB(288),
            BlockC(768, 128), BlockC(768, 160), BlockC(768, 160), BlockC(768, 192),
            BlockD(768), BlockE(1280), BlockE(2048)])
        self.head = nn.Linear(2048, classes)

    def forward_taps(self, x):
        x = F.max_pool2d(seq(x, self.stem[:3]), 3, 2)
        x = F.max_pool2d(seq(x, self.stem[3:]), 3, 2)
        taps = []
        for block in self.blocks:
            x = block(x)
            taps.append(x)
        return self.head(x.mean((2, 3))), taps


def rate(steps, batch, step):
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, choices=["small-cnn", "inception-v3"])
    parser.add_argument("--image-size", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    net = SmallCnn(10) if args.model == "small-cnn" else InceptionV3(10)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    x = torch.randn(args.batch_size, 3, args.image_size, args.image_size)
    y = torch.randint(10, (args.batch_size,))

    def train_step():
        net.train()
        logits, _ = net.forward_taps(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def dump_step():
        net.eval()
        with torch.no_grad():
            _, taps = net.forward_taps(x)
            [t.mean((2, 3)) for t in taps]

    print(json.dumps({
        "model": args.model, "image_size": args.image_size, "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "train_images_per_s": rate(args.steps, args.batch_size, train_step),
        "dump_images_per_s": rate(args.steps, args.batch_size, dump_step),
    }))


if __name__ == "__main__":
    main()
