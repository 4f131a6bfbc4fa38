// The built-in metrics: one file each, registered here (docs/adding-a-metric.md).
import { registerMetric } from '../contract';
import { asr } from './asr';
import { forgetRate } from './forgetRate';
import { judgeScore } from './judgeScore';
import { rougeL } from './rougeL';
import { rougeL_official } from './rougeL_official';
import { rr } from './rr';
import { sarr } from './sarr';
import { sdRefusalRate } from './sdRefusalRate';
import { specificity } from './specificity';

export const BUILTIN_METRICS = [asr, rr, sarr, sdRefusalRate, rougeL, rougeL_official, judgeScore, specificity, forgetRate];
for (const m of BUILTIN_METRICS) registerMetric(m, { quiet: true });
