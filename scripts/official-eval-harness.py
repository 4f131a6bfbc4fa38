#!/usr/bin/env python3
"""Run the official SafeEraser `eval_all.py` (from a checkout, unmodified) on eraserlab's
official-format fixtures with a fake judge, to produce the files the official evaluation
writes: the labels file, the `_with_scores.json` file and the `.txt` stats.

    python3 scripts/official-eval-harness.py --safeeraser /path/to/SafeEraser \
        [--fixture tests/fixtures/official] [--run run10]

Nothing of the official code is copied: it is imported from the checkout. What is replaced:
- `gpt_4_call` (the GPT-4o request) by the fake judge of `<fixture>/fake-judge.json`, which
  finds the judged text in the prompt and replies by rule;
- the `rouge_score`, `tqdm` and `requests` packages, when not installed, by small stand-ins:
  ROUGE-L precision values come from `<run>/rouge-table.json` (computed by eraserlab's port of
  rouge_score, tests/fixtures/official/make.ts rouge).
Also writes `<run>/prompt-hashes.json`: sha256 of every prompt sent, with the reply, so that
eraserlab's `official` judge protocol can be checked to send the very same prompts.
"""
import argparse, hashlib, importlib, json, os, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument('--safeeraser', required=True)
ap.add_argument('--fixture', default=os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures', 'official'))
ap.add_argument('--run', default='run10')
ap.add_argument('--input', default='all_val_responses.json')
ap.add_argument('--output', default='all_val_predictions.json')
ap.add_argument('--refer', default='all_val.json')
args = ap.parse_args()

run = os.path.abspath(os.path.join(args.fixture, args.run))
rules = json.load(open(os.path.join(args.fixture, 'fake-judge.json')))
shim = tempfile.mkdtemp(prefix='se-shim-')

def have(mod):
    try:
        importlib.import_module(mod)
        return True
    except ImportError:
        return False

if not have('rouge_score'):
    os.makedirs(os.path.join(shim, 'rouge_score'))
    open(os.path.join(shim, 'rouge_score', '__init__.py'), 'w').close()
    with open(os.path.join(shim, 'rouge_score', 'rouge_scorer.py'), 'w') as f:
        f.write(
            'import json, collections\n'
            'Score = collections.namedtuple("Score", ["precision", "recall", "fmeasure"])\n'
            f'TABLE = json.load(open({os.path.join(run, "rouge-table.json")!r}))\n'
            'class RougeScorer:\n'
            '    def __init__(self, types, use_stemmer=False): pass\n'
            '    def score(self, target, prediction):\n'
            '        p = TABLE[target + "\\u0000" + prediction]\n'
            '        return {"rougeL": Score(p, float("nan"), float("nan"))}\n')
if not have('tqdm'):
    with open(os.path.join(shim, 'tqdm.py'), 'w') as f:
        f.write('def tqdm(it=None, **kw):\n    return it\n')
if not have('requests'):
    with open(os.path.join(shim, 'requests.py'), 'w') as f:
        f.write('def post(*a, **k):\n    raise RuntimeError("no network in the harness")\n')

sys.path.insert(0, shim)
sys.path.insert(0, os.path.abspath(args.safeeraser))
os.chdir(os.path.abspath(args.safeeraser))
import eval_all  # noqa: E402  (the official script, from the checkout)

log = []

def between(s, start, end):
    a = s.rindex(start) + len(start)
    b = s.index(end, a) if end in s[a:] else len(s)
    return s[a:b]

def fake_judge(text, api_key, **kw):
    if 'factual accuracy' in text:
        kind, subject = 'SCORE', between(text, '\nCorrect Answer: ', '\n\nPrediction: ')
    else:
        if 'starts with a refusal tone' in text:
            kind, marker = 'RR', '\nResponse: '
        elif 'normal and meaningful answer' in text:
            kind, marker = 'RR_sd', '\nResponse: '
        else:
            kind, marker = 'ASR', '\nAnswer: '
        subject = text[text.rindex(marker) + len(marker):text.rindex('Your output')].rstrip('\n ')
    reply = rules[kind]['default']
    for needle, r in rules[kind]['rules']:
        if needle in subject:
            reply = r
            break
    log.append({'sha256': hashlib.sha256(text.encode('utf-8')).hexdigest(), 'kind': kind, 'reply': reply})
    return reply

eval_all.gpt_4_call = fake_judge
sys.argv = ['eval_all.py', '--api_key', 'fake', '--input_file', os.path.join(run, args.input),
            '--output_file_rr', os.path.join(run, args.output), '--file_refer', os.path.join(run, args.refer)]
eval_all.main()
with open(os.path.join(run, 'prompt-hashes.json'), 'w') as f:
    json.dump(log, f, indent=1)
