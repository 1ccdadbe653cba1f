"""The nano detector's training step in PyTorch (same layers, shapes, losses and AdamW update as
services/model), for bench/train-step.ts. Usage: train_step.py CONFIG_JSON THREADS STEPS BATCH.
Prints one JSON line: {"threads", "median_ms", "min_ms", "steps"}."""
import json, math, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

cfg = json.loads(sys.argv[1]); threads = int(sys.argv[2]); steps = int(sys.argv[3]); batch = int(sys.argv[4])
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

model = Nano(cfg); opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
S0 = cfg["inputSize"]; M = cfg["maxTokens"]
img = torch.rand(batch, 3, S0, S0); ids = torch.randint(0, 100, (batch, M)); mask = torch.zeros(batch, M); mask[:, :10] = 1
with torch.no_grad(): S, B, C = model(img, ids, mask)
N = S.shape[1]
T = torch.zeros(batch, N, M); pos = (torch.rand(batch, N) < 0.03).float(); T[:, :, 1:7] = pos[..., None]
tb = torch.rand(batch, N, 4) * 20 * pos[..., None]; ctr_t = torch.rand(batch, N) * pos
times = []
for i in range(steps + 3):
    t0 = time.perf_counter()
    opt.zero_grad(); S, B, C = model(img, ids, mask); loss = loss_fn(S, B, C, T, pos, tb, ctr_t, mask); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0); opt.step()
    if i >= 3: times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"threads": threads, "median_ms": statistics.median(times), "min_ms": min(times), "steps": steps}))
