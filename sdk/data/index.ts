// The 'data' namespace of the public API (see sdk/index.ts).
export {};
