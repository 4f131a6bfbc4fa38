// The 'metrics' namespace of the public API (see sdk/index.ts).
export { rougeL, rougeLOfficial, rougeTokenize, rougeLTokens, lcsLength } from './rouge';
export type { RougeScore, RougeOptions } from './rouge';
export { porterStem } from './porter';
