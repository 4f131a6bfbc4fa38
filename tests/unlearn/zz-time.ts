import { runtime, unlearn, data } from '../../sdk';
import { createRandom } from '../../sdk/model/load';
import { LlavaProcessor } from '../../sdk/model/processor';
import { buildTokenizer } from '../../sdk/model/tokenizer';
import { DEFAULT_TEMPLATE, defaultModelConfig, vanillaExamples } from '../../sdk/model/pretrain';
(async () => {
  const info = await runtime.init({ backend: (process.env.B as any) || 'auto' });
  const ds = await data.loadSafeEraser('data/generated/default');
  const exs = vanillaExamples(ds);
  const probe = new LlavaProcessor({ tokenizer: buildTokenizer(['x']), imageSize: 32, numImageTokens: 1, template: DEFAULT_TEMPLATE });
  const corpus = exs.map((e) => probe.fullText(e.question, e.answer, e.image !== undefined)); corpus.push(...ds.refusals);
  const tok = buildTokenizer(corpus);
  const m = createRandom(defaultModelConfig(tok), 233);
  m.processor = LlavaProcessor.forConfig(m.config, tok, { template: DEFAULT_TEMPLATE }) as any;
  console.log(info.backend, 'vocab', tok.size, 'params', m.numParameters());
  for (const [method, extra] of [['po+pd', {}], ['po+pd', {fuseBatches: false}], ['ga', {}], ['kl+pd', {}]] as const) {
    const u = unlearn.create(m as any, ds, { method, batchSize: 8, ...extra });
    await u.step();
    let t = Date.now(); for (let i=0;i<3;i++) await u.step(); console.log(method, JSON.stringify(extra), 'ms/step', (Date.now()-t)/3);
    if (method === 'ga') { t = Date.now(); await u.probe(); console.log('probe 16x4 ms', Date.now()-t); }
    u.dispose();
  }
})();
