/**
 * The learning-rate schedules of an unlearning run, as the official trainer's `lr_scheduler_type`
 * names them: linear warmup over `warmupRatio` of the steps, then constant, linear decay to 0,
 * or cosine decay (model/optim's cosineSchedule).
 */
import { cosineSchedule, type LrSchedule } from '../model/optim';
import type { UnlearnConfig } from './options';

type ScheduleOptions = Pick<UnlearnConfig, 'scheduler' | 'lr' | 'warmupRatio'>;

/** Warmup steps of a run of `totalSteps` optimiser steps. */
export function warmupStepsOf(o: Pick<UnlearnConfig, 'warmupRatio'>, totalSteps: number): number {
  return Math.round(o.warmupRatio * totalSteps);
}

/** The learning rate per optimiser step for `o.scheduler` over `totalSteps` steps. */
export function learningRateSchedule(o: ScheduleOptions, totalSteps: number): LrSchedule {
  const warmupSteps = warmupStepsOf(o, totalSteps);
  return o.scheduler === 'constant'
    ? (s: number) => (s < warmupSteps ? (o.lr * s) / Math.max(1, warmupSteps) : o.lr)
    : o.scheduler === 'linear'
      ? (s: number) => (s < warmupSteps ? (o.lr * s) / Math.max(1, warmupSteps) : (o.lr * Math.max(0, totalSteps - s)) / Math.max(1, totalSteps - warmupSteps))
      : cosineSchedule({ lr: o.lr, totalSteps, warmupSteps });
}
