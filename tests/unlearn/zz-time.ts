import { runtime, unlearn } from '../../sdk';
import { tinyDataset, tinyModel } from './helpers';
(async () => {
  await runtime.init();
  const ds = await tinyDataset(); const m = await tinyModel();
  for (const [method, extra] of [['ga', {}], ['ga', {lora: {r: 4}}], ['kl+pd', {}], ['ga', {batchSize: 1, gradientAccumulationSteps: 1}]] as const) {
    const u = unlearn.create(m, ds, { method, batchSize: 2, gradientAccumulationSteps: 2, steps: 20, ...extra });
    await u.step();
    let t = Date.now(); for (let i=0;i<4;i++) await u.step(); console.log(method, JSON.stringify(extra), 'ms/step', (Date.now()-t)/4);
    u.dispose();
  }
})();
