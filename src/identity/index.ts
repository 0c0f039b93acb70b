export * from './keys.js';
export * from './magnet.js';
export * from './key-file.js';
export * from './crypto.js';
