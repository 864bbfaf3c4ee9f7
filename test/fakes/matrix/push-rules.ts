// GET /pushrules/ answer: the spec's predefined rules (https://spec.matrix.org/v1.13/client-server-api/#predefined-rules),
// in the order matrix-js-sdk expects them. The SDK logs a warning for every default rule a server leaves out
// (PushProcessor.rewriteDefaultRules), so an empty ruleset would make every client noisy.

type Condition = Record<string, unknown>;

const match = (key: string, pattern: string): Condition => ({ kind: 'event_match', key, pattern });
const notify = (sound?: string, highlight?: boolean): unknown[] => [
  'notify',
  ...(sound ? [{ set_tweak: 'sound', value: sound }] : []),
  ...(highlight === undefined ? [] : [{ set_tweak: 'highlight', ...(highlight ? {} : { value: false }) }]),
];

function rule(ruleId: string, conditions: Condition[], actions: unknown[], enabled = true) {
  return { rule_id: ruleId, default: true, enabled, conditions, actions };
}

export function defaultPushRules(userId: string): Record<string, unknown> {
  const localpart = userId.slice(1, userId.indexOf(':'));
  const serverAcl = [match('type', 'm.room.server_acl'), match('state_key', '')];
  return {
    global: {
      override: [
        rule('.m.rule.master', [], [], false),
        rule('.m.rule.suppress_notices', [match('content.msgtype', 'm.notice')], []),
        rule(
          '.m.rule.invite_for_me',
          [match('type', 'm.room.member'), match('content.membership', 'invite'), match('state_key', userId)],
          notify('default', false),
        ),
        rule('.m.rule.member_event', [match('type', 'm.room.member')], []),
        rule(
          '.m.rule.is_user_mention',
          [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }],
          notify('default', true),
        ),
        rule('.m.rule.contains_display_name', [{ kind: 'contains_display_name' }], notify('default', true)),
        rule(
          '.m.rule.is_room_mention',
          [
            { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
            { kind: 'sender_notification_permission', key: 'room' },
          ],
          notify(undefined, true),
        ),
        rule(
          '.m.rule.roomnotif',
          [{ kind: 'sender_notification_permission', key: 'room' }, match('content.body', '@room')],
          notify(undefined, true),
        ),
        rule(
          '.m.rule.tombstone',
          [match('type', 'm.room.tombstone'), match('state_key', '')],
          notify(undefined, true),
        ),
        rule('.m.rule.reaction', [match('type', 'm.reaction')], []),
        rule('.m.rule.room.server_acl', serverAcl, []),
        rule('.org.matrix.msc3786.rule.room.server_acl', serverAcl, []),
        rule(
          '.m.rule.suppress_edits',
          [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }],
          [],
        ),
      ],
      content: [
        {
          rule_id: '.m.rule.contains_user_name',
          default: true,
          enabled: true,
          pattern: localpart,
          actions: notify('default', true),
        },
      ],
      room: [],
      sender: [],
      underride: [
        rule('.m.rule.call', [match('type', 'm.call.invite')], notify('ring', false)),
        rule(
          '.org.matrix.msc3914.rule.room.call',
          [match('type', 'org.matrix.msc3401.call'), { kind: 'call_started' }],
          notify('default'),
        ),
        rule(
          '.m.rule.encrypted_room_one_to_one',
          [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.encrypted')],
          notify('default', false),
        ),
        rule(
          '.m.rule.room_one_to_one',
          [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.message')],
          notify('default', false),
        ),
        rule('.m.rule.message', [match('type', 'm.room.message')], notify(undefined, false)),
        rule('.m.rule.encrypted', [match('type', 'm.room.encrypted')], notify(undefined, false)),
      ],
    },
  };
}
