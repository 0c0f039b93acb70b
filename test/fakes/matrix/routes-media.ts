/**
 * The media repository as Synapse 1.67 has it: uploads need a token,
 * downloads do not (authenticated media, /_matrix/client/v1/media/..., came
 * later and is not served). Files live in memory for the server's lifetime.
 */
import { newMediaId } from './ids.js';
import type { Reply, RequestContext, Route } from './router.js';
import { ok } from './router.js';
import { MatrixApiError, notFound } from './types.js';

/** Synapse's default `max_upload_size` (50M). */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

function upload(ctx: RequestContext): Reply {
  if (ctx.rawBody.length > MAX_UPLOAD_BYTES) throw new MatrixApiError(413, 'M_TOO_LARGE', 'Upload request body is too large');
  const filename = ctx.query.get('filename') ?? undefined;
  // Synapse: "if the client hasn't said, we'll guess".
  const contentType = ctx.headers['content-type'] ?? 'application/octet-stream';
  const mediaId = newMediaId();
  ctx.hs.media.set(mediaId, { bytes: Buffer.from(ctx.rawBody), contentType, filename: filename === '' ? undefined : filename });
  return ok({ content_uri: `mxc://${ctx.hs.serverName}/${mediaId}` });
}

function download(ctx: RequestContext): Reply {
  const media = ctx.params['serverName'] === ctx.hs.serverName ? ctx.hs.media.get(ctx.params['mediaId'] ?? '') : undefined;
  if (!media) throw notFound('Not found');
  const name = ctx.params['fileName'] || media.filename;
  const headers: Record<string, string> = {
    'Content-Type': media.contentType,
    'Content-Security-Policy': "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';",
    'Cache-Control': 'public,max-age=86400,s-maxage=86400',
  };
  if (name) headers['Content-Disposition'] = `inline; filename*=utf-8''${encodeURIComponent(name)}`;
  return { status: 200, bytes: media.bytes, headers };
}

const media = (method: Route['method'], path: string, auth: boolean, handle: Route['handle']): Route => ({ method, family: 'media', path, auth, handle });

export const mediaRoutes: readonly Route[] = [
  media('POST', '/upload', true, upload),
  media('GET', '/download/{serverName}/{mediaId}', false, download),
  media('GET', '/download/{serverName}/{mediaId}/{fileName}', false, download),
  media('GET', '/config', true, () => ok({ 'm.upload.size': MAX_UPLOAD_BYTES })),
];
