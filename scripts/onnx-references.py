#!/usr/bin/python3
"""PyTorch references for camlight's ONNX loader (test/nn/onnx-torchvision.test.ts, bench/onnx.ts).

Builds torchvision classifiers with seeded random weights (He-scaled convolutions and linear
layers; batch-norm statistics measured on seeded noise images (one batch norm at a time), then perturbed, so they are far
from the identity), exports each to ONNX twice (batch norms fused into the convolutions, the
exporter's eval-mode default, and unfused), and writes, for the given input images, PyTorch's
logits and a Grad-CAM computed with autograd and hooks on one module (Selvaraju et al. 2017,
Eq. 1-2: alpha_k = mean over space of d y_c / d A_k, map = ReLU(sum_k alpha_k A_k), divided by its
maximum as camlight reports it), with y_c the top logit of each image.

Usage: onnx-references.py --out DIR --inputs x.f32 --size 224 --models resnet18,mobilenet_v2 [--no-cam] [--dynamic-batch]
  x.f32: float32 NCHW images (B,3,size,size), little-endian, already preprocessed.
Writes DIR/<model>.onnx, DIR/<model>-unfused.onnx, DIR/<model>.logits.f32, DIR/<model>.cam.f32
and DIR/manifest.json. Needs python3-torch, python3-torchvision (Debian bookworm packages).
"""
import argparse
import json
import math
import os
import time

import torch
import torchvision

# The module whose output Grad-CAM reads: the output camlight's layer 'auto' picks (the last
# 4-D output with spatial extent that every path to the logits passes through).
CAM_MODULE = {
    'resnet18': 'layer4', 'resnet50': 'layer4', 'mobilenet_v2': 'features', 'mobilenet_v3_small': 'features',
    'efficientnet_b0': 'features', 'densenet121': 'features+relu', 'squeezenet1_1': 'classifier.2',
    'vgg11_bn': 'avgpool', 'shufflenet_v2_x1_0': 'conv5', 'googlenet': 'inception5b', 'inception_v3': 'Mixed_7c',
}


def build(name, seed):
    torch.manual_seed(seed)
    kwargs = {'weights': None}
    if name == 'googlenet':
        kwargs.update(aux_logits=False, init_weights=False)
    if name == 'inception_v3':
        kwargs.update(aux_logits=False, init_weights=False)
    model = getattr(torchvision.models, name)(**kwargs)
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = m.weight[0].numel()
            # He et al. 2015 (Eq. 10): std = sqrt(2 / fan_in).
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    # Batch-norm statistics measured on noise, one batch norm at a time in forward (registration)
    # order, each on the activations the already perturbed layers before it produce; then its γ, β
    # and statistics are perturbed per channel. Measuring all at once and perturbing afterwards
    # compounds the perturbations through deep stacks (EfficientNet-B0: 49 batch norms, logits
    # spanning 6·10⁴ with a float32-vs-float64 error of 4 % of that range); calibrated in order its
    # logits span ~4 and float32 agrees with float64 to ~1e-6 of the range.
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    size = 224 if name != 'inception_v3' else 299
    x = torch.randn(4, 3, size, size, generator=g)
    model.eval()  # dropout and stochastic depth off while measuring
    with torch.no_grad():
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
            m.train()
            model(x)
            m.eval()
            c = m.num_features
            m.weight.copy_(0.5 + torch.rand(c, generator=g))
            m.bias.copy_(torch.randn(c, generator=g) * 0.2)
            m.running_mean.add_(torch.randn(c, generator=g) * 0.1 * m.running_var.sqrt())
            m.running_var.mul_(0.75 + 0.5 * torch.rand(c, generator=g))
            m.momentum = 0.1
    return model


def cam_module(model, name):
    path = CAM_MODULE[name]
    if path == 'features+relu':
        return None
    m = model
    for p in path.split('.'):
        m = m[int(p)] if p.isdigit() else getattr(m, p)
    return m


def grad_cam(model, name, x):
    module = cam_module(model, name)
    saved = {}

    def hook(_m, _inp, out):
        saved['a'] = out
        out.register_hook(lambda g: saved.__setitem__('g', g))

    x = x.clone().requires_grad_(True)
    if module is None:
        # DenseNet's CAM reads the functional F.relu after `features` (no module to hook): F.relu
        # is wrapped, out of place, for this forward, and the output of its last call (that one)
        # keeps its gradient.
        relu = torch.nn.functional.relu
        torch.nn.functional.relu = lambda t, inplace=False: saved.__setitem__('a', torch.relu(t)) or saved['a']
        try:
            logits = model(x)
        finally:
            torch.nn.functional.relu = relu
        saved['a'].retain_grad()
    else:
        h = module.register_forward_hook(hook)
        logits = model(x)
        h.remove()
    target = logits.argmax(1)
    logits.gather(1, target[:, None]).sum().backward()
    a = saved['a'].detach()
    g = saved['g'] if module is not None else saved['a'].grad
    w = g.mean((2, 3), keepdim=True)
    cam = torch.relu((w * a).sum(1))
    peak = cam.flatten(1).max(1).values.clamp_min(1e-30)
    return (cam / peak[:, None, None]).detach(), target


def export(model, x1, path, fused, dynamic=False):
    mode = torch.onnx.TrainingMode.EVAL if fused else torch.onnx.TrainingMode.PRESERVE
    axes = {'input': {0: 'N'}, 'logits': {0: 'N'}} if dynamic else None
    torch.onnx.export(model, x1, path, training=mode, do_constant_folding=fused, input_names=['input'],
                      output_names=['logits'], opset_version=14, dynamic_axes=axes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--inputs', required=True)
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--models', required=True)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--no-cam', action='store_true')
    ap.add_argument('--dynamic-batch', action='store_true', help='export with a symbolic batch dimension')
    a = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(a.out, exist_ok=True)
    raw = torch.frombuffer(bytearray(open(a.inputs, 'rb').read()), dtype=torch.float32)
    x = raw.reshape(-1, 3, a.size, a.size)
    manifest = {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'size': a.size, 'batch': x.shape[0], 'models': {}}
    for name in a.models.split(','):
        t0 = time.time()
        model = build(name, a.seed)
        export(model, x[:1], os.path.join(a.out, f'{name}.onnx'), True, a.dynamic_batch)
        export(model, x[:1], os.path.join(a.out, f'{name}-unfused.onnx'), False, a.dynamic_batch)
        # The references are computed in float64 from the exported float32 weights: the exact
        # function of those weights, so a comparison measures the float32 error of the
        # implementation under test alone, not that plus PyTorch's own float32 rounding (on
        # EfficientNet-B0's Grad-CAM, PyTorch float32 is 5.3e-5 from float64, half the tolerance).
        model = model.double()
        with torch.no_grad():
            logits = model(x.double())
        logits.numpy().astype('<f4').tofile(os.path.join(a.out, f'{name}.logits.f32'))
        entry = {'logits': list(logits.shape), 'module': CAM_MODULE[name], 'precision': 'float64'}
        if not a.no_cam:
            cam, target = grad_cam(model, name, x.double())
            cam.numpy().astype('<f4').tofile(os.path.join(a.out, f'{name}.cam.f32'))
            entry.update(cam=list(cam.shape), targets=target.tolist())
        entry['seconds'] = round(time.time() - t0, 2)
        manifest['models'][name] = entry
        print(f'{name}: {entry["seconds"]} s', flush=True)
        # Written after every model, so that an interrupted run leaves what it finished readable.
        with open(os.path.join(a.out, 'manifest.partial.json'), 'w') as f:
            json.dump(manifest, f, indent=1)
    os.replace(os.path.join(a.out, 'manifest.partial.json'), os.path.join(a.out, 'manifest.json'))


if __name__ == '__main__':
    main()
