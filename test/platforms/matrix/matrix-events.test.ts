/** Matrix events → room events, and room posts → Matrix content: pure mapping, checked at the edge. */
import { describe, expect, it } from 'vitest';
import { editContent, messageContent, neutraliseMentions, txnIdFor } from '../../../src/platforms/matrix/content.js';
import { downloadUrl, draftOf, RawEventSchema, stripReplyFallback } from '../../../src/platforms/matrix/events.js';
import type { Draft, MappingContext } from '../../../src/platforms/matrix/events.js';
import { platformId } from '../../../src/platforms/platform.js';
import type { RoomEvent, RoomSender } from '../../../src/platforms/platform.js';

const ctx: MappingContext = {
  room: { platform: platformId('matrix'), roomId: '!r:hs' },
  botUserId: '@bot:hs',
  mediaUrl: (mxc) => downloadUrl('https://hs.example/', mxc),
};
const alice: RoomSender = { id: '@alice:hs', displayName: 'Alice', level: 'member' };

function map(event: Record<string, unknown>): RoomEvent | Draft['kind'] | string {
  const raw = RawEventSchema.parse({ event_id: '$e1', sender: '@alice:hs', origin_server_ts: 5, ...event });
  const d = draftOf(raw, ctx);
  if (d.kind === 'event') return d.build(alice);
  return d.kind === 'reject' ? `reject: ${d.reason}` : d.kind;
}

describe('Matrix events as room events', () => {
  it('maps text, emote and notice messages, flagging the bot and notices', () => {
    expect(map({ type: 'm.room.message', content: { msgtype: 'm.text', body: 'hi' } })).toEqual({
      kind: 'message', room: ctx.room, id: '$e1', sender: alice, text: 'hi', notice: false, fromSelf: false, at: 5,
    });
    expect(map({ type: 'm.room.message', content: { msgtype: 'm.emote', body: 'waves' } })).toMatchObject({ text: '* waves' });
    expect(map({ type: 'm.room.message', content: { msgtype: 'm.notice', body: 'beep' } })).toMatchObject({ notice: true });
    expect(map({ type: 'm.room.message', sender: '@bot:hs', content: { msgtype: 'm.text', body: 'me' } })).toMatchObject({ fromSelf: true });
  });

  it('maps an m.replace to an edit of the original with the new content, never a message', () => {
    const edit = map({
      type: 'm.room.message',
      content: { msgtype: 'm.text', body: '* fixed', 'm.new_content': { msgtype: 'm.text', body: 'fixed' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$orig' } },
    });
    expect(edit).toMatchObject({ kind: 'edit', target: '$orig', text: 'fixed', notice: false });
    // Without m.new_content, the fallback body minus its "* ".
    expect(map({ type: 'm.room.message', content: { msgtype: 'm.text', body: '* fixed', 'm.relates_to': { rel_type: 'm.replace', event_id: '$o' } } })).toMatchObject({ kind: 'edit', text: 'fixed' });
  });

  it('strips the reply fallback and keeps the quoted text as the excerpt', () => {
    const reply = map({
      type: 'm.room.message',
      content: { msgtype: 'm.text', body: '> <@bob:hs> the question\n> on two lines\n\nthe answer', 'm.relates_to': { 'm.in_reply_to': { event_id: '$q' } } },
    });
    expect(reply).toMatchObject({ kind: 'message', text: 'the answer', replyTo: { id: '$q', excerpt: 'the question on two lines' } });
    expect(stripReplyFallback('no fallback')).toEqual({ text: 'no fallback' });
  });

  it('maps images and files to attachments with the download URL; a bad mxc is rejected', () => {
    expect(map({ type: 'm.room.message', content: { msgtype: 'm.image', body: 'cat.png', url: 'mxc://hs.example/AbC_1', info: { size: 2048, mimetype: 'image/png' } } })).toMatchObject({
      kind: 'message',
      text: '',
      attachments: [{ name: 'cat.png', size: 2048, mimeType: 'image/png', url: 'https://hs.example/_matrix/media/v3/download/hs.example/AbC_1' }],
    });
    expect(map({ type: 'm.room.message', content: { msgtype: 'm.file', body: 'see this', filename: 'plan.pdf', url: 'mxc://hs/x' } })).toMatchObject({ text: 'see this', attachments: [{ name: 'plan.pdf' }] });
    expect(map({ type: 'm.room.message', content: { msgtype: 'm.file', body: 'x', url: 'https://evil/x' } })).toBe('reject: m.file without a readable mxc:// url');
    expect(downloadUrl('https://hs', 'mxc://hs/../../etc')).toBeUndefined();
  });

  it('maps reactions and redactions; ignores other events and rejects malformed ones', () => {
    expect(map({ type: 'm.reaction', content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$m', key: '👍' } } })).toMatchObject({ kind: 'reaction', target: '$m', emoji: '👍', added: true });
    expect(map({ type: 'm.room.redaction', redacts: '$m', content: {} })).toMatchObject({ kind: 'redaction', target: '$m' });
    expect(map({ type: 'm.room.redaction', content: { redacts: '$n' } })).toMatchObject({ kind: 'redaction', target: '$n' });
    expect(map({ type: 'm.room.topic', state_key: '', content: { topic: 'x' } })).toBe('ignore');
    expect(map({ type: 'm.room.message', content: { msgtype: 'm.text' } })).toBe('reject: malformed m.room.message');
    expect(map({ type: 'm.room.message', content: { msgtype: 'm.text', body: 'x'.repeat(70_000) } })).toBe('reject: malformed m.room.message');
    expect(map({ type: 'm.reaction', content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$m' } } })).toBe('reject: malformed m.reaction');
    expect(RawEventSchema.safeParse({ type: 'm.room.message', sender: 5, content: {} }).success).toBe(false);
  });
});

describe('room posts as Matrix content', () => {
  it("shows a contact's message as m.text with the name in bold, escaped, with no mention possible", () => {
    const c = messageContent({ text: '<img src=x onerror=alert(1)> @room hi @alice:hs\nbye', author: 'Eve <3' });
    expect(c).toEqual({
      msgtype: 'm.text',
      body: 'Eve <3: <img src=x onerror=alert(1)> @\u2060room hi @\u2060alice:hs\nbye',
      format: 'org.matrix.custom.html',
      formatted_body: '<b>Eve &lt;3</b>: &lt;img src=x onerror=alert(1)&gt; @\u2060room hi @\u2060alice:hs<br>bye',
      'm.mentions': {},
    });
    expect(neutraliseMentions('mail me at a@b.c, @ alone')).toBe('mail me at a@\u2060b.c, @ alone');
  });

  it('writes the bot\'s own words as m.notice, and edits with m.new_content and the "* " fallback', () => {
    expect(messageContent({ text: 'status', notice: true })).toMatchObject({ msgtype: 'm.notice', body: 'status' });
    expect(editContent('$n', { text: 'new', notice: true })).toEqual({
      msgtype: 'm.notice',
      body: '* new',
      format: 'org.matrix.custom.html',
      formatted_body: '* new',
      'm.new_content': { msgtype: 'm.notice', body: 'new', format: 'org.matrix.custom.html', formatted_body: 'new', 'm.mentions': {} },
      'm.relates_to': { rel_type: 'm.replace', event_id: '$n' },
      'm.mentions': {},
    });
  });

  it('derives the same transaction id from the same key, and a fresh one without', () => {
    expect(txnIdFor('in-1')).toBe(txnIdFor('in-1'));
    expect(txnIdFor('in-1')).not.toBe(txnIdFor('in-2'));
    expect(txnIdFor()).not.toBe(txnIdFor());
    expect(txnIdFor('a/b?c')).toMatch(/^rc-[0-9a-f]{40}$/);
  });
});
