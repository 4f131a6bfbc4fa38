#!/usr/bin/python3
"""PyTorch peer for tests/bench/model.bench.ts.

The same LLaVA-1.5 architecture as sdk/model (CLIP vision tower, two-layer GELU projector,
Llama decoder with RoPE, grouped-query attention, SwiGLU and RMSNorm) in plain PyTorch, with
no dependency beyond torch and numpy (Debian python3-torch; `transformers` is not needed).
Weights come from a Hugging Face style folder (config.json + model.safetensors) read by the
small safetensors reader below.

Before it times anything it must reproduce the reference logits of the tiny-llava fixture
(written by `transformers`) within 1e-4, so the timings are of the same model.

Usage: /usr/bin/python3 llava_peer.py < job.json   (prints one JSON object to stdout)
job = {"cmd": "verify", "fixture": dir}
    | {"cmd": "bench", "model": dir, "batch": file.safetensors, "threads": n,
       "trainSteps": n, "trainWarmup": n, "genTokens": n, "genRepeats": n, "lr": x, "weightDecay": x,
       "maxGradNorm": x}
The batch file holds input_ids [B,T] int32, labels [B,T] int32 (-100 = ignored),
pixel_values [B,3,H,W] float32, gen_input_ids [G,P] int32 and gen_pixel_values [G,3,H,W].
"""
import json
import math
import os
import re
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# ----------------------------------------------------------------------------- safetensors

_DTYPES = {
    'F32': np.float32, 'F16': np.float16, 'F64': np.float64,
    'I32': np.int32, 'I64': np.int64, 'I16': np.int16, 'I8': np.int8, 'U8': np.uint8, 'BOOL': np.bool_,
}


def read_safetensors(path):
    """{name: torch.Tensor} from a .safetensors file; float16/bfloat16 become float32."""
    with open(path, 'rb') as f:
        buf = f.read()
    (n,) = struct.unpack('<Q', buf[:8])
    header = json.loads(buf[8:8 + n].decode('utf-8'))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        start, end = info['data_offsets']
        raw = buf[base + start: base + end]
        shape = info['shape']
        dt = info['dtype']
        if dt == 'BF16':
            u16 = np.frombuffer(raw, dtype='<u2').astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_DTYPES[dt]).newbyteorder('<'))
            if dt == 'F16':
                arr = arr.astype(np.float32)
        out[name] = torch.from_numpy(np.array(arr, copy=True).reshape(shape))
    return out


def canonical(name):
    """Map the three LLaVA key layouts (on-disk, older Hub, transformers-5 in-memory) to one."""
    for old, new in (
        ('model.language_model.', 'lm.'), ('language_model.model.', 'lm.'),
        ('language_model.lm_head.', 'lm_head.'),
        ('model.vision_tower.vision_model.', 'vt.'), ('vision_tower.vision_model.', 'vt.'),
        ('model.vision_tower.', 'vt.'), ('vision_tower.', 'vt.'),
        ('model.multi_modal_projector.', 'mm.'), ('multi_modal_projector.', 'mm.'),
    ):
        if name.startswith(old):
            return new + name[len(old):]
    return name


# ----------------------------------------------------------------------------- model

class Llava(torch.nn.Module):
    def __init__(self, config, weights):
        super().__init__()
        self.cfg = config
        tc, vc = config['text_config'], config['vision_config']
        self.hidden = tc['hidden_size']
        self.heads = tc['num_attention_heads']
        self.kv_heads = tc.get('num_key_value_heads') or self.heads
        self.head_dim = tc.get('head_dim') or self.hidden // self.heads
        self.layers = tc['num_hidden_layers']
        self.eps = tc.get('rms_norm_eps', 1e-6)
        rp = tc.get('rope_parameters') or {}
        self.theta = rp.get('rope_theta', tc.get('rope_theta', 10000.0))
        self.v_hidden = vc['hidden_size']
        self.v_heads = vc['num_attention_heads']
        self.v_layers = vc['num_hidden_layers']
        self.v_eps = vc.get('layer_norm_eps', 1e-5)
        self.patch = vc['patch_size']
        self.image_token = config.get('image_token_index', config.get('image_token_id'))
        self.feature_layer = config.get('vision_feature_layer', -2)
        self.strategy = config.get('vision_feature_select_strategy', 'default')
        if vc.get('hidden_act', 'quick_gelu') != 'quick_gelu' or tc.get('hidden_act', 'silu') != 'silu':
            raise ValueError('peer supports quick_gelu vision and silu text activations only')
        self.p = torch.nn.ParameterDict()
        for k, v in weights.items():
            self.p[canonical(k).replace('.', '__')] = torch.nn.Parameter(v.float().contiguous())
        inv = 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim))
        self.register_buffer('inv_freq', inv, persistent=False)

    def w(self, key):
        return self.p[key.replace('.', '__')]

    def has(self, key):
        return key.replace('.', '__') in self.p

    def lin(self, key, x):
        b = key + '.bias'
        return F.linear(x, self.w(key + '.weight'), self.w(b) if self.has(b) else None)

    # --- vision
    def vision_features(self, pixel_values):
        x = F.conv2d(pixel_values, self.w('vt.embeddings.patch_embedding.weight'), stride=self.patch)
        B = x.shape[0]
        x = x.flatten(2).transpose(1, 2)
        cls = self.w('vt.embeddings.class_embedding').expand(B, 1, -1)
        x = torch.cat([cls, x], dim=1) + self.w('vt.embeddings.position_embedding.weight')[None]
        x = F.layer_norm(x, (self.v_hidden,), self.w('vt.pre_layrnorm.weight'), self.w('vt.pre_layrnorm.bias'), self.v_eps)
        # hidden_states[i] = output after i layers; only the layers up to the feature layer are needed.
        target = self.feature_layer if self.feature_layer >= 0 else self.v_layers + 1 + self.feature_layer
        hd = self.v_hidden // self.v_heads
        for i in range(target):
            pre = f'vt.encoder.layers.{i}.'
            h = F.layer_norm(x, (self.v_hidden,), self.w(pre + 'layer_norm1.weight'), self.w(pre + 'layer_norm1.bias'), self.v_eps)
            T = h.shape[1]
            q = self.lin(pre + 'self_attn.q_proj', h).view(B, T, self.v_heads, hd).transpose(1, 2)
            k = self.lin(pre + 'self_attn.k_proj', h).view(B, T, self.v_heads, hd).transpose(1, 2)
            v = self.lin(pre + 'self_attn.v_proj', h).view(B, T, self.v_heads, hd).transpose(1, 2)
            a = torch.softmax((q @ k.transpose(-1, -2)) * hd ** -0.5, dim=-1) @ v
            x = x + self.lin(pre + 'self_attn.out_proj', a.transpose(1, 2).reshape(B, T, self.v_hidden))
            h = F.layer_norm(x, (self.v_hidden,), self.w(pre + 'layer_norm2.weight'), self.w(pre + 'layer_norm2.bias'), self.v_eps)
            h = self.lin(pre + 'mlp.fc1', h)
            h = h * torch.sigmoid(1.702 * h)
            x = x + self.lin(pre + 'mlp.fc2', h)
        if self.strategy == 'default':
            x = x[:, 1:]
        h = F.gelu(self.lin('mm.linear_1', x))
        return self.lin('mm.linear_2', h)

    # --- decoder
    def rms(self, x, key):
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * self.w(key)

    def rope(self, positions):
        freqs = positions.float()[:, None] * self.inv_freq[None]
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos()[None, None], emb.sin()[None, None]

    @staticmethod
    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat([-x[..., h:], x[..., :h]], dim=-1)

    def embed(self, input_ids, pixel_values):
        emb = F.embedding(input_ids.clamp(max=self.w('lm.embed_tokens.weight').shape[0] - 1), self.w('lm.embed_tokens.weight'))
        if pixel_values is not None:
            feats = self.vision_features(pixel_values)
            mask = input_ids == self.image_token
            emb = emb.masked_scatter(mask[..., None].expand_as(emb), feats.reshape(-1).to(emb.dtype))
        return emb

    def decoder(self, x, start=0, cache=None, attention_mask=None):
        """x [B,T,H] embeddings at positions start..start+T-1. cache: list of (k, v) per layer or None."""
        B, T, _ = x.shape
        cos, sin = self.rope(torch.arange(start, start + T))
        S = start + T
        causal = torch.ones(T, S, dtype=torch.bool).tril(diagonal=start)
        bias = torch.zeros(B, 1, T, S).masked_fill(~causal[None, None], float('-inf'))
        if attention_mask is not None:
            bias = bias.masked_fill(attention_mask[:, None, None, :S] == 0, float('-inf'))
        rep = self.heads // self.kv_heads
        hidden = [x]
        new_cache = []
        for i in range(self.layers):
            pre = f'lm.layers.{i}.'
            h = self.rms(x, pre + 'input_layernorm.weight')
            q = self.lin(pre + 'self_attn.q_proj', h).view(B, T, self.heads, self.head_dim).transpose(1, 2)
            k = self.lin(pre + 'self_attn.k_proj', h).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
            v = self.lin(pre + 'self_attn.v_proj', h).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
            q = q * cos + self.rot(q) * sin
            k = k * cos + self.rot(k) * sin
            if cache is not None:
                if cache[i] is not None:
                    k = torch.cat([cache[i][0], k], dim=2)
                    v = torch.cat([cache[i][1], v], dim=2)
                new_cache.append((k, v))
            if rep > 1:
                k = k.repeat_interleave(rep, dim=1)
                v = v.repeat_interleave(rep, dim=1)
            att = torch.softmax((q @ k.transpose(-1, -2)) * self.head_dim ** -0.5 + bias, dim=-1)
            a = (att @ v).transpose(1, 2).reshape(B, T, self.heads * self.head_dim)
            x = x + self.lin(pre + 'self_attn.o_proj', a)
            h = self.rms(x, pre + 'post_attention_layernorm.weight')
            h = F.silu(self.lin(pre + 'mlp.gate_proj', h)) * self.lin(pre + 'mlp.up_proj', h)
            x = x + self.lin(pre + 'mlp.down_proj', h)
            hidden.append(x)
        x = self.rms(x, 'lm.norm.weight')
        hidden[-1] = x
        logits = F.linear(x, self.w('lm_head.weight'))
        return logits, hidden, new_cache

    def forward(self, input_ids, pixel_values=None, attention_mask=None):
        logits, hidden, _ = self.decoder(self.embed(input_ids, pixel_values), attention_mask=attention_mask)
        return logits, hidden

    @torch.no_grad()
    def generate(self, input_ids, pixel_values, max_new_tokens, eos=None):
        """Greedy decoding with a KV cache; prompts of equal length. Returns [B, P + new]."""
        cache = [None] * self.layers
        logits, _, cache = self.decoder(self.embed(input_ids, pixel_values), 0, cache)
        out = [input_ids]
        nxt = logits[:, -1].argmax(-1)
        pos = input_ids.shape[1]
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool)
        for step in range(max_new_tokens):
            out.append(nxt[:, None])
            if eos is not None:
                done |= nxt == eos
                if bool(done.all()):
                    break
            if step == max_new_tokens - 1:
                break
            emb = F.embedding(nxt[:, None], self.w('lm.embed_tokens.weight'))
            logits, _, cache = self.decoder(emb, pos, cache)
            pos += 1
            nxt = logits[:, -1].argmax(-1)
        return torch.cat(out, dim=1)


def answer_nll(logits, labels):
    """Mean cross-entropy over positions whose (shifted) label is not -100, as HF does."""
    lg = logits[:, :-1].reshape(-1, logits.shape[-1])
    lb = labels[:, 1:].reshape(-1).long()
    return F.cross_entropy(lg, lb, ignore_index=-100)


def load(folder):
    with open(os.path.join(folder, 'config.json')) as f:
        cfg = json.load(f)
    return Llava(cfg, read_safetensors(os.path.join(folder, 'model.safetensors')))


# ----------------------------------------------------------------------------- commands

def verify(job):
    d = job['fixture']
    m = load(d)
    ref = read_safetensors(os.path.join(d, 'reference.safetensors'))
    with open(os.path.join(d, 'reference.json')) as f:
        refj = json.load(f)
    ids = ref['input_ids'].long()
    with torch.no_grad():
        logits, hidden = m(ids, ref['pixel_values'])
        tlogits, _ = m(ref['text_input_ids'].long())
    out = {
        'logitsMaxAbsDiff': float((logits - ref['logits']).abs().max()),
        'hiddenMaxAbsDiff': max(float((h - ref[f'lm_hidden_state_{i}']).abs().max()) for i, h in enumerate(hidden)),
        'textLogitsMaxAbsDiff': float((tlogits - ref['text_logits']).abs().max()),
    }
    labels = ids.clone()
    labels[:, :20] = -100  # BOS, 3 prompt tokens and 16 image tokens; the 6 answer tokens count
    logits, _ = m(ids, ref['pixel_values'])
    loss = answer_nll(logits, labels)
    loss.backward()
    out['lossAbsDiff'] = abs(float(loss) - refj['loss'])
    worst = 0.0
    for k, v in refj['grad_norms'].items():
        g = m.w(canonical(k)).grad
        gn = 0.0 if g is None else float(g.norm())
        worst = max(worst, abs(gn - v) / max(abs(v), 1e-6) if v > 1e-6 else abs(gn - v))
    out['gradNormMaxRelDiff'] = worst
    gen = m.generate(ids, ref['pixel_values'], ref['generated_ids'].shape[1] - ids.shape[1])
    out['generateMatches'] = bool(torch.equal(gen.int(), ref['generated_ids']))
    out['ok'] = (out['logitsMaxAbsDiff'] < 1e-4 and out['textLogitsMaxAbsDiff'] < 1e-4
                 and out['lossAbsDiff'] < 1e-5 and out['generateMatches'])
    return out


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def bench(job):
    threads = int(job.get('threads') or os.cpu_count() or 1)
    torch.set_num_threads(threads)
    m = load(job['model'])
    b = read_safetensors(job['batch'])
    ids, labels, px = b['input_ids'].long(), b['labels'].long(), b.get('pixel_values')
    # Same grouping as sdk/model/optim.ts (transformers' Trainer): no decay on biases and norms.
    no_decay = re.compile(r'(^|\.)bias$|_bias$|layernorm|layer_norm|layrnorm|rmsnorm|(^|\.)norm(\.|$)|_norm(\.|$)|_ln(\.|$)', re.I)
    named = [(k.replace('__', '.'), p) for k, p in m.p.items()]
    groups = [
        {'params': [p for k, p in named if not no_decay.search(k)], 'weight_decay': job.get('weightDecay', 0.01)},
        {'params': [p for k, p in named if no_decay.search(k)], 'weight_decay': 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=job.get('lr', 1e-4))
    max_norm = float(job.get('maxGradNorm', 1.0))
    times, cpu, losses, cold = [], [], [], []
    budget = float(job.get('trainBudgetS', 1e9))

    def step():
        opt.zero_grad(set_to_none=True)
        logits, _ = m(ids, px)
        loss = answer_nll(logits, labels)
        loss.backward()
        if max_norm > 0:
            torch.nn.utils.clip_grad_norm_(m.parameters(), max_norm)
        opt.step()
        losses.append(float(loss))

    # Warm-up: at least trainWarmup steps and trainWarmupS seconds (the same rule as the tfjs
    # side); the first steps after one warm-up step are kept apart as the cold figure.
    warm, warm_start = 0, time.perf_counter()
    while warm < int(job.get('trainWarmup', 2)) or time.perf_counter() - warm_start < float(job.get('trainWarmupS', 0)):
        t0 = time.perf_counter()
        step()
        if warm >= 1 and len(cold) < 5:
            cold.append((time.perf_counter() - t0) * 1000)
        warm += 1
    start = time.perf_counter()
    for i in range(int(job.get('trainSteps', 5))):
        t0 = time.perf_counter()
        c0 = time.process_time()
        step()
        dt = (time.perf_counter() - t0) * 1000
        times.append(dt)
        cpu.append((time.process_time() - c0) * 1000)
        if warm >= 1 and len(cold) < 5:
            cold.append(dt)
        if time.perf_counter() - start > budget:
            break
    a = torch.randn(512, 512)
    a @ a
    t0 = time.perf_counter()
    for _ in range(20):
        a @ a
    mm = 2 * 512 ** 3 * 20 / (time.perf_counter() - t0) / 1e9
    out = {'threads': threads, 'matmul512Gflops': mm, 'torch': torch.__version__, 'params': sum(p.numel() for p in m.parameters()),
           'trainStepMs': median(times), 'trainStepMsAll': times, 'trainStepCpuMs': median(cpu), 'trainStepColdMs': median(cold) if cold else None,
           'trainWarmupSteps': warm, 'losses': losses}
    n_new = int(job.get('genTokens', 32))
    if n_new > 0 and 'gen_input_ids' in b:
        gids, gpx = b['gen_input_ids'].long(), b.get('gen_pixel_values')
        # The saved weights (a fresh copy): the training steps above changed m's, and the two
        # sides ran different numbers of warm-up steps.
        m = load(job['model'])
        m.generate(gids, gpx, 2)  # warm-up
        last = [None]

        def rate():
            t0 = time.perf_counter()
            last[0] = m.generate(gids, gpx, n_new)
            return gids.shape[0] * (last[0].shape[1] - gids.shape[1]) / (time.perf_counter() - t0)

        cold_gen, warm_start = [], time.perf_counter()
        while time.perf_counter() - warm_start < float(job.get('genWarmupS', 0)):
            r = rate()
            if len(cold_gen) < 3:
                cold_gen.append(r)
        rates = []
        gstart = time.perf_counter()
        for _ in range(int(job.get('genRepeats', 3))):
            rates.append(rate())
            if len(cold_gen) < 3:
                cold_gen.append(rates[-1])
            if time.perf_counter() - gstart > float(job.get('genBudgetS', 1e9)):
                break
        out_ids = last[0]
        out['generateColdTokensPerS'] = median(cold_gen)
        out['generateTokensPerS'] = median(rates)
        out['generateTokensPerSAll'] = rates
        out['generatedIds'] = out_ids.tolist()
    return out


def main():
    job = json.loads(sys.stdin.read() or '{}')
    cmd = job.get('cmd', 'verify')
    res = verify(job) if cmd == 'verify' else bench(job)
    sys.stdout.write(json.dumps(res) + '\n')


if __name__ == '__main__':
    main()
