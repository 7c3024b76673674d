// Lock libraries (and the node-redis v3 client they need) that ship no type declarations; the
// compatibility tests use them exactly as their READMEs show, untyped.
declare module 'redlock';
declare module 'node-redis-warlock';
declare module 'redis-lock';
declare module 'redis3';
