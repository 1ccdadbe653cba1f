"""Training steps in PyTorch for bench/train-step.ts (same layers, shapes, losses and AdamW update as
services/model).

  train_step.py CONFIG_JSON THREADS STEPS BATCH
      the nano detector from scratch.
  train_step.py grounded SPEC_PATH THREADS STEPS BATCH
      fine-tuning the pretrained base (yolox-nano): the YOLOX graph read from its ONNX file (the
      `onnx` package) and run op by op in NCHW with its pretrained weights, pruned to what medfcl's
      grounded head uses, the convs of the frozen stages without gradients; medfcl's text encoder and
      region-word alignment on top. SPEC (written by train-step.ts) names the file, the graph outputs
      per level, the trainable initializers and the head's sizes.

MEDFCL_TORCH_PROFILE=1: one more step under torch's autograd profiler, its top ops to stderr.
Prints one JSON line: {"threads", "median_ms", "min_ms", "steps", "times_ms", "trainable", "frozen"}."""
import json, math, os, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

GROUNDED = sys.argv[1] == "grounded"
argv = sys.argv[2:] if GROUNDED else sys.argv[1:]
cfg = json.load(open(argv[0])) if GROUNDED else json.loads(argv[0]); threads = int(argv[1]); steps = int(argv[2]); batch = int(argv[3])
torch.set_num_threads(threads); torch.manual_seed(0)

def conv(ci, co, k=3, s=1):
    return nn.Conv2d(ci, co, k, s, (k - 1) // 2)

class TextLayer(nn.Module):
    def __init__(s, d, h, f):
        super().__init__(); s.ln1 = nn.LayerNorm(d); s.attn = nn.MultiheadAttention(d, h, batch_first=True); s.ln2 = nn.LayerNorm(d)
        s.fc1 = nn.Linear(d, f); s.fc2 = nn.Linear(f, d)
    def forward(s, x, pad):
        n = s.ln1(x); x = x + s.attn(n, n, n, key_padding_mask=pad, need_weights=False)[0]
        return x + s.fc2(F.relu(s.fc1(s.ln2(x))))

class Nano(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.c = c; d = c["dModel"]; t = c["textDim"]
        s.stem = conv(3, c["stemChannels"], 3, 2)
        stages = []; ci = c["stemChannels"]
        for i, co in enumerate(c["stageChannels"]):
            stages.append(nn.ModuleList([conv(ci, co, 3, 2)] + [conv(co, co) for _ in range(c["stageBlocks"][i])])); ci = co
        s.stages = nn.ModuleList(stages)
        s.lat = nn.ModuleDict({str(l): conv(c["stageChannels"][l - 2], d, 1) for l in c["levels"]})
        s.out = nn.ModuleDict({str(l): conv(d, d) for l in c["levels"]})
        s.cls = nn.ModuleList([conv(d, d) for _ in range(c["headConvs"])]); s.box = nn.ModuleList([conv(d, d) for _ in range(c["headConvs"])])
        s.align = conv(d, d, 1); s.reg = conv(d, 4); s.ctr = conv(d, 1)
        s.scales = nn.Parameter(torch.ones(len(c["levels"])))
        s.emb = nn.Embedding(c["vocab"], t); s.pos = nn.Parameter(torch.randn(c["maxTokens"], t) * 0.1)
        s.layers = nn.ModuleList([TextLayer(t, c["textHeads"], c["textFfn"]) for _ in range(c["textLayers"])])
        s.lnf = nn.LayerNorm(t); s.proj = nn.Linear(t, d); s.tok_proj = nn.Linear(d, d); s.tok_bias = nn.Linear(d, 1)
    def forward(s, img, ids, mask):
        c = s.c; x = F.relu(s.stem((img - 0.5) / 0.25)); feats = [x]
        for st in s.stages:
            x = F.relu(st[0](x))
            for m in st[1:]: x = F.relu(m(x))
            feats.append(x)
        lat = {}; prev = None
        for l in sorted(c["levels"], reverse=True):
            t = s.lat[str(l)](feats[l - 1])
            if prev is not None: t = t + F.interpolate(prev, scale_factor=2, mode="nearest")
            lat[l] = t; prev = t
        h = s.emb(ids) + s.pos
        for layer in s.layers: h = layer(h, mask == 0)
        tok = s.proj(s.lnf(h)); ta = s.tok_proj(tok); tb = s.tok_bias(tok).transpose(1, 2)
        logits, boxes, ctrs = [], [], []
        for i, l in enumerate(sorted(c["levels"])):
            f = s.out[str(l)](lat[l]); cc, r = f, f
            for a, b in zip(s.cls, s.box): cc = F.relu(a(cc)); r = F.relu(b(r))
            o = s.align(cc).flatten(2).transpose(1, 2)
            logits.append(o @ ta.transpose(1, 2) / math.sqrt(c["dModel"]) + tb)
            boxes.append((torch.exp(torch.clamp(s.reg(r) * s.scales[i], -8, 8)) * 2 ** l).flatten(2).transpose(1, 2))
            ctrs.append(s.ctr(r).flatten(2).transpose(1, 2))
        return torch.cat(logits, 1), torch.cat(boxes, 1), torch.cat(ctrs, 1)

def loss_fn(S, B, C, T, pos, tb, ctr_t, tok_mask):
    p = torch.sigmoid(S); ce = F.binary_cross_entropy_with_logits(S, T, reduction="none")
    pt = p * T + (1 - p) * (1 - T); at = 0.25 * T + 0.75 * (1 - T)
    npos = max(float(pos.sum()), 1.0)
    cls = (at * (1 - pt) ** 2 * ce * tok_mask[:, None, :]).sum() / npos
    pl, ptp, pr, pb = B.unbind(-1); tl, tt, tr, tbb = tb.unbind(-1)
    inter = (torch.min(pl, tl) + torch.min(pr, tr)) * (torch.min(ptp, tt) + torch.min(pb, tbb))
    union = (pl + pr) * (ptp + pb) + (tl + tr) * (tt + tbb) - inter
    iou = inter / (union + 1e-6); enc = (torch.max(pl, tl) + torch.max(pr, tr)) * (torch.max(ptp, tt) + torch.max(pb, tbb)) + 1e-6
    giou = iou - (enc - union) / enc
    box = ((1 - giou) * ctr_t).sum() / max(float(ctr_t.sum()), 1e-6) + 0.1 * ((B - tb).abs() * pos[..., None]).sum() / npos
    ctr = (F.binary_cross_entropy_with_logits(C[..., 0], ctr_t, reduction="none") * pos).sum() / npos
    return cls + box + ctr

class OnnxBackbone(nn.Module):
    """The ONNX graph's nodes that feed `outputs`, run in order; Conv initializers become parameters."""
    def __init__(s, path, outputs, trainable):
        super().__init__()
        import onnx
        from onnx import numpy_helper
        g = onnx.load(path).graph
        inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
        producer = {o: n for n in g.node for o in n.output}
        need, stack = set(), list(outputs)
        while stack:
            n = producer.get(stack.pop())
            if n is None or id(n) in need: continue
            need.add(id(n)); stack.extend(n.input)
        s.nodes = [n for n in g.node if id(n) in need]
        s.input = [i.name for i in g.input if i.name not in inits][0]
        s.outputs = outputs
        s.params = nn.ParameterDict(); s.key = {}; s.consts = {}
        for n in s.nodes:
            if n.op_type == "Conv":
                for name in n.input[1:]:
                    k = "p%d" % len(s.key); s.key[name] = k
                    s.params[k] = nn.Parameter(inits[name], requires_grad=name in trainable)
            elif n.op_type == "Constant":
                s.consts[n.output[0]] = torch.from_numpy(numpy_helper.to_array(n.attribute[0].t).copy())
            else:
                for name in n.input:
                    if name in inits: s.consts[name] = inits[name]
        s.attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in s.nodes]
    def forward(s, x):
        env = dict(s.consts); env[s.input] = x
        for n, a in zip(s.nodes, s.attrs):
            i = [env.get(name) for name in n.input]; op = n.op_type
            if op == "Constant": continue
            if op == "Conv":
                p = a.get("pads", [0, 0, 0, 0])
                y = F.conv2d(i[0], s.params[s.key[n.input[1]]], s.params[s.key[n.input[2]]] if len(n.input) > 2 else None, a.get("strides", [1, 1]), p[:2], 1, a.get("group", 1))
            elif op == "Sigmoid": y = torch.sigmoid(i[0])
            elif op == "Relu": y = F.relu(i[0])
            elif op == "Mul": y = i[0] * i[1]
            elif op == "Add": y = i[0] + i[1]
            elif op == "Concat": y = torch.cat(i, a["axis"])
            elif op == "Slice":
                starts, ends, axes = i[1].tolist(), i[2].tolist(), i[3].tolist() if len(i) > 3 else list(range(len(i[1])))
                st = i[4].tolist() if len(i) > 4 else [1] * len(starts); y = i[0]
                for b, e, ax, k in zip(starts, ends, axes, st):
                    y = y[(slice(None),) * ax + (slice(b, min(e, y.shape[ax]), k),)]
            elif op == "MaxPool": y = F.max_pool2d(i[0], a["kernel_shape"], a["strides"], a["pads"][:2])
            elif op == "Resize": y = F.interpolate(i[0], scale_factor=tuple(i[2].tolist()[2:]), mode="nearest")
            elif op == "Reshape": y = i[0].reshape([d if d != 0 else i[0].shape[k] for k, d in enumerate(i[1].tolist())])
            elif op == "Transpose": y = i[0].permute(a["perm"])
            else: raise SystemExit("unsupported op " + op)
            env[n.output[0]] = y
        return [env[o] for o in s.outputs]

class Grounded(nn.Module):
    """groundedForward (services/model/tfjs/yolox.ts): S = O·Pᵀ/√d + bias, YOLOX boxes, objectness."""
    def __init__(s, c):
        super().__init__()
        s.c = c; d = c["dModel"]; t = c["textDim"]
        s.levels = c["levels"]
        s.backbone = OnnxBackbone(c["onnx"], [x for l in s.levels for x in (l["clsFeat"], l["reg"], l["obj"])], set(c["trainable"]))
        s.align = nn.Conv2d(s.levels[0]["clsChannels"], d, 1)
        s.emb = nn.Embedding(c["vocab"], t); s.pos = nn.Parameter(torch.randn(c["maxTokens"], t) * 0.1)
        s.layers = nn.ModuleList([TextLayer(t, c["textHeads"], c["textFfn"]) for _ in range(c["textLayers"])])
        s.lnf = nn.LayerNorm(t); s.proj = nn.Linear(t, d); s.tok_proj = nn.Linear(d, d); s.tok_bias = nn.Linear(d, 1)
    def forward(s, img, ids, mask):
        d = s.c["dModel"]; outs = s.backbone(img[:, [2, 1, 0]] * 255.0)
        h = s.emb(ids) + s.pos
        for layer in s.layers: h = layer(h, mask == 0)
        tok = s.proj(s.lnf(h)); ta = s.tok_proj(tok); tb = s.tok_bias(tok).transpose(1, 2)
        logits, boxes, objs = [], [], []
        for k, l in enumerate(s.levels):
            feat, reg, obj = outs[3 * k:3 * k + 3]; st = l["stride"]
            o = s.align(feat).flatten(2).transpose(1, 2)
            logits.append(o @ ta.transpose(1, 2) / math.sqrt(d) + tb)
            x, y, lw, lh = reg.unbind(1)
            w = torch.exp(torch.clamp(lw, -8, 8)) * st / 2; hh = torch.exp(torch.clamp(lh, -8, 8)) * st / 2
            dx = (x - 0.5) * st; dy = (y - 0.5) * st
            boxes.append(torch.stack([w - dx, hh - dy, w + dx, hh + dy], -1).flatten(1, 2))
            objs.append(obj.flatten(2).transpose(1, 2))
        return torch.cat(logits, 1), torch.cat(boxes, 1), torch.cat(objs, 1)

if GROUNDED:
    model = Grounded(cfg)
    text = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith(("backbone.", "align."))]
    image = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith(("backbone.", "align."))]
    opt = torch.optim.AdamW([{"params": image, "lr": cfg["lr"]}, {"params": text, "lr": cfg["textLr"]}], weight_decay=cfg["weightDecay"])
    clip = cfg["gradClip"]
else:
    model = Nano(cfg); opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05); clip = 5.0
S0 = cfg["inputSize"]; M = cfg["maxTokens"]
img = torch.rand(batch, 3, S0, S0); ids = torch.randint(0, 100, (batch, M)); mask = torch.zeros(batch, M); mask[:, :10] = 1
with torch.no_grad(): S, B, C = model(img, ids, mask)
N = S.shape[1]
T = torch.zeros(batch, N, M); pos = (torch.rand(batch, N) < 0.03).float(); T[:, :, 1:7] = pos[..., None]
tb = torch.rand(batch, N, 4) * 20 * pos[..., None]; ctr_t = torch.rand(batch, N) * pos
params = [p for p in model.parameters() if p.requires_grad]
times = []
for i in range(steps + 3):
    t0 = time.perf_counter()
    opt.zero_grad(); S, B, C = model(img, ids, mask); loss = loss_fn(S, B, C, T, pos, tb, ctr_t, mask); loss.backward()
    torch.nn.utils.clip_grad_norm_(params, clip); opt.step()
    if i >= 3: times.append((time.perf_counter() - t0) * 1000)
if os.environ.get("MEDFCL_TORCH_PROFILE"):
    # One more step under the autograd profiler; the ops by self CPU time go to stderr.
    with torch.autograd.profiler.profile() as prof:
        opt.zero_grad(); S, B, C = model(img, ids, mask); loss_fn(S, B, C, T, pos, tb, ctr_t, mask).backward()
        torch.nn.utils.clip_grad_norm_(params, clip); opt.step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12), file=sys.stderr)
print(json.dumps({"threads": threads, "median_ms": statistics.median(times), "min_ms": min(times), "steps": steps, "times_ms": times,
                  "trainable": sum(p.numel() for p in params), "frozen": sum(p.numel() for p in model.parameters() if not p.requires_grad)}))
