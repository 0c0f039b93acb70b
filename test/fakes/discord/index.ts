/**
 * Public API of the fake Discord server (see fake-discord.ts).
 *
 *   const fake = await startFakeDiscord();
 *   const acc = fake.bootstrap();            // alice, bob, a guild, #bridge, an admin bot
 *   const client = new Client({ intents, rest: { api: fake.apiUrl } });
 *   await client.login(acc.bot.token);
 *   ...
 *   await fake.close();
 */
export { FakeDiscord, startFakeDiscord } from './fake-discord.js';
export type { BootstrapAccounts, FakeDiscordOptions } from './fake-discord.js';
export type { InteractionResponse } from './interactions.js';
export type { PingRecord } from './messages.js';
export type { AttachmentJson, FakeMessage, Json, JsonObject, RecordedRequest, UserJson, WebhookJson } from './types.js';
export { Intent, Perm } from './types.js';
