import { runtime } from '../../sdk';
import { pretrain } from '../../sdk/model/pretrain';
(async () => {
  await runtime.init({ backend: 'cpu' });
  const t = Date.now();
  const r = await pretrain({ outDir: '/tmp/prov-vanilla', steps: 500, evaluate: false, progress: false, onStep: (s) => { if (s.step % 25 === 0) console.log(s.step, s.loss.toFixed(3), ((Date.now()-t)/1000).toFixed(0)+'s'); } });
  console.log('done', r.steps, r.finalLoss, r.trainSeconds);
})();
